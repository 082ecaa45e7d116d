import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerFaceCommands } from '../../src/faces/cli.js';
import { faceDg2Of } from '../../src/testing/passports/face-dg2.js';
import { samplePeople } from '../../src/testing/faces/index.js';
import { runReuseid } from '../cli/support.js';
import { runCommands } from '../support/commands.js';

const people = await samplePeople();
const MODEL_TEST = { timeout: 300_000 };

/** Runs `face …` in-process (the worker from the TypeScript sources, through tsx) and captures what it prints. */
const run = (...args: string[]) => runCommands(registerFaceCommands, args);

describe('reuseid face compare', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'face-cli-'));
    const [first, second] = people;
    await writeFile(file('document.jpg'), first!.documentPhoto);
    await writeFile(file('EF_DG2.bin'), faceDg2Of(first!.documentPhoto, 'jpeg', { width: 240, height: 320 }));
    await writeFile(file('selfie.jpg'), first!.selfie);
    await writeFile(file('other.jpg'), second!.selfie);
    await writeFile(file('blank.jpg'), Buffer.from('not an image'));
  });

  it('compares one reference with each probe and prints JSON', MODEL_TEST, async () => {
    const { out, error } = await run(
      'face',
      'compare',
      file('document.jpg'),
      file('selfie.jpg'),
      file('other.jpg'),
      file('blank.jpg'),
      file('missing.jpg'),
      '--json',
    );
    expect(error).toBeUndefined();
    const report = JSON.parse(out);
    expect(report).toMatchObject({
      threshold: expect.any(Number),
      model: expect.stringContaining('face-api'),
      modelHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(report.results).toEqual([
      { probe: file('selfie.jpg'), score: expect.any(Number), match: true },
      { probe: file('other.jpg'), score: expect.any(Number), match: false },
      { probe: file('blank.jpg'), match: false, error: 'unreadable_image', flags: ['unreadable_image'] },
      { probe: file('missing.jpg'), match: false, error: 'unreadable_image' },
    ]);
    expect(report.results[0].score).toBeGreaterThanOrEqual(report.threshold);
    expect(report.results[1].score).toBeLessThan(report.threshold);
  });

  it('prints a table without --json', MODEL_TEST, async () => {
    const { out } = await run('face', 'compare', file('document.jpg'), file('selfie.jpg'));
    expect(out).toMatch(/selfie\.jpg\s+\d\.\d{4}\s+match/);
    expect(out).toMatch(/^threshold /m);
  });

  it('refuses a reference without a usable face (exit code 2)', MODEL_TEST, async () => {
    const { error } = await run('face', 'compare', file('blank.jpg'), file('selfie.jpg'), '--json');
    expect(error).toMatchObject({ code: 'face.reference_unusable', exitCode: 2 });
  });

  it('runs from the compiled server (dist/, npm run build), with an EF.DG2 file as the reference', MODEL_TEST, async () => {
    const run = await runReuseid(process.env, 'face', 'compare', file('EF_DG2.bin'), file('selfie.jpg'), '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).results).toEqual([{ probe: file('selfie.jpg'), score: expect.any(Number), match: true }]);
  });
});
