import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createLogger, deferredChildLogger } from '../../src/ops/logger.js';
import { testDatabases } from '../support/databases.js';
import { createHarness } from '../support/harness.js';

/** A pino logger at `level` whose lines are kept, and a count of the children made of it. */
function capturingLogger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger(level, destination);
  const counted = { children: 0 };
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    counted.children++;
    return child(...args);
  }) as typeof logger.child;
  return { logger, lines, counted };
}

describe('request logger (deferred child)', () => {
  it('makes no child for what the level does not write, and one child, with its bindings and redaction, for what it does', () => {
    const { logger, lines, counted } = capturingLogger('warn');
    const log = deferredChildLogger(logger, { reqId: 'trace-1' }, {});
    log.info('incoming request');
    log.debug({ detail: 1 }, 'detail');
    expect(counted.children).toBe(0);
    expect(lines).toEqual([]);
    expect(log.level).toBe('warn');

    log.error({ headers: { authorization: 'Bearer secret-token' } }, 'request failed');
    log.warn('second line');
    expect(counted.children).toBe(1);
    expect(lines).toMatchObject([
      { level: 50, reqId: 'trace-1', msg: 'request failed', headers: { authorization: '[redacted]' } },
      { level: 40, reqId: 'trace-1', msg: 'second line' },
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-token');
  });

  it("a route's own level makes its child at once", () => {
    const { logger, counted } = capturingLogger('warn');
    const log = deferredChildLogger(logger, { reqId: 'trace-2' }, { level: 'debug' });
    expect(counted.children).toBe(1);
    expect(log.level).toBe('debug');
  });

  it('a level set on it applies to its child only', () => {
    const { logger, lines } = capturingLogger('warn');
    const log = deferredChildLogger(logger, { reqId: 'trace-3' }, {});
    log.level = 'error';
    log.warn('not written');
    expect(lines).toEqual([]);
    log.level = 'debug';
    log.debug('written');
    expect(lines).toMatchObject([{ level: 20, reqId: 'trace-3', msg: 'written' }]);
    expect(logger.level).toBe('warn');
  });
});

// Not a storage behaviour: the app's request logging, on the first test database only.
describe('request logging through the app', () => {
  for (const level of ['info', 'warn'] as const) {
    it(`at level ${level}, logs requests under their X-TRACE-ID ${level === 'info' ? 'as they come and go' : 'not at all'}`, async () => {
      const h = await createHarness(testDatabases[0]!);
      const { logger, lines } = capturingLogger(level);
      const app = await buildApp(h.ctx, logger as FastifyBaseLogger);
      try {
        // A route without a level of its own (the health checks log at warn): refused for want of a token.
        const response = await app.inject({ method: 'GET', url: '/reuseid/onboarding/some-transaction' });
        expect(response.statusCode).toBe(401);
        const traceId = response.headers['x-trace-id'];
        const requestLines = lines.filter((l) => 'reqId' in l);
        if (level === 'warn') expect(requestLines).toEqual([]);
        else
          expect(requestLines.map((l) => [l.reqId, l.msg])).toEqual([
            [traceId, 'incoming request'],
            [traceId, 'request completed'],
          ]);
      } finally {
        await app.close();
        await h.close();
      }
    });
  }
});
