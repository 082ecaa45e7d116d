import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../src/faces/pool.js';
import { installErrorHandling } from '../../src/http/errors-plugin.js';
import { ApiError, errors } from '../../src/shared/errors.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const pools: WorkerPool<string, string>[] = [];
const pool = (options: { queue?: number; timeoutMs?: number; script?: string } = {}) => {
  const created = new WorkerPool<string, string>({
    script: fixture(options.script ?? 'test-worker.mjs'),
    size: 1,
    queue: options.queue ?? 4,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  pools.push(created);
  return created;
};

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('the face worker pool', () => {
  it('runs jobs one at a time per worker, in order', async () => {
    const p = pool();
    expect(await Promise.all(['a', 'b', 'c'].map((x) => p.run(x)))).toEqual(['echo a', 'echo b', 'echo c']);
    expect(await p.ready()).toEqual({ model: 'test' });
  });

  it('refuses a job beyond workers + queue at once with face_matcher_busy (503, Retry-After), and takes jobs again once there is room', async () => {
    const p = pool({ queue: 1 });
    const admitted = [p.run('1'), p.run('2')];
    const refused = await p.run('3').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ code: 'face_matcher_busy', status: 503, headers: { 'Retry-After': expect.stringMatching(/^[1-9]\d*$/) } });
    expect(await Promise.all(admitted)).toEqual(['echo 1', 'echo 2']);
    expect(await p.run('4')).toBe('echo 4');
  });

  it('fails a job whose worker crashes, replaces the worker, and runs the next job', async () => {
    const p = pool();
    await expect(p.run('crash')).rejects.toThrow(/face worker stopped.*code 7/);
    expect(await p.run('after')).toBe('echo after');
  });

  it('times out a job that hangs with face_match_timeout, terminates its worker and serves the next job on a new one', async () => {
    const p = pool({ timeoutMs: 1500 });
    await p.ready();
    await expect(p.run('hang')).rejects.toMatchObject({ code: 'face_match_timeout', status: 503 });
    expect(await p.run('after')).toBe('echo after');
  });

  it('fails waiting jobs when the worker cannot start, and tries a new worker for the next job', async () => {
    const p = pool({ script: 'failing-worker.mjs' });
    await expect(p.run('x')).rejects.toThrow(/could not start: cannot load the model/);
    await expect(p.run('y')).rejects.toThrow(/could not start/);
  });

  it('refuses jobs once closed', async () => {
    const p = pool();
    await p.ready();
    await p.close();
    await expect(p.run('x')).rejects.toMatchObject({ code: 'service_unavailable' });
  });
});

describe('face matcher errors over HTTP', () => {
  it('answers face_matcher_busy and face_match_timeout with 503 and Retry-After', async () => {
    const app = Fastify();
    installErrorHandling(app);
    app.get('/busy', async () => {
      throw errors.faceMatcherBusy(3.2);
    });
    app.get('/timeout', async () => {
      throw errors.faceMatchTimeout();
    });
    const busy = await app.inject({ method: 'GET', url: '/busy' });
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('4');
    expect(busy.json()).toMatchObject({ code: 'face_matcher_busy' });
    const timeout = await app.inject({ method: 'GET', url: '/timeout' });
    expect(timeout.statusCode).toBe(503);
    expect(timeout.headers['retry-after']).toBe('5');
    expect(timeout.json()).toMatchObject({ code: 'face_match_timeout' });
    await app.close();
  });
});
