import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/faces/image.js';
import { registerFaceSampleCommands } from '../../src/testing/faces/cli.js';
import { samplePeople } from '../../src/testing/faces/index.js';
import { registerVideoIdCommands } from '../../src/testing/media/cli.js';
import { sampleMrz } from '../../src/testing/media/sample-images.js';
import { runCommands } from '../support/commands.js';

/** The face test material commands, in-process; what the images show is checked by faces.test.ts with the matcher. */
const run = (...args: string[]) =>
  runCommands((program: Command) => {
    registerFaceSampleCommands(program);
    registerVideoIdCommands(program);
  }, args);

describe('face sample commands', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'face-samples-'));
  });

  it("face samples writes a sample person's document photo and selfie", async () => {
    const people = await samplePeople();
    expect((await run('face', 'samples', '--out', join(dir, 'p3'), '--person', '3')).error).toBeUndefined();
    expect(await readFile(join(dir, 'p3', 'document-photo.jpg'))).toEqual(people[2]!.documentPhoto);
    expect(await readFile(join(dir, 'p3', 'selfie.jpg'))).toEqual(people[2]!.selfie);
    for (const person of ['0', String(people.length + 1), 'two']) {
      expect((await run('face', 'samples', '--out', join(dir, 'bad'), '--person', person)).error?.exitCode).toBe(2);
    }
  });

  it("videoid sample-images puts the person's photo on the data page, their selfie beside it, and the matching MRZ", async () => {
    const people = await samplePeople();
    expect((await run('videoid', 'sample-images', '--out', join(dir, 'v2'), '--person', '2')).error).toBeUndefined();
    expect((await readdir(join(dir, 'v2'))).sort()).toEqual(['document-back.png', 'document-front.png', 'mrz.txt', 'selfie.jpg']);
    expect(await readFile(join(dir, 'v2', 'selfie.jpg'))).toEqual(people[1]!.selfie);
    expect((await readFile(join(dir, 'v2', 'mrz.txt'), 'utf8')).trim()).toBe(sampleMrz());
    const front = await decodeImage(await readFile(join(dir, 'v2', 'document-front.png')));
    expect({ width: front.width, height: front.height }).toEqual({ width: 960, height: 600 });
  });
});
