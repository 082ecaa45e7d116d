import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FACE_THRESHOLD } from '../../src/config.js';
import { createFaceMatcher, type FaceEngine, faceSimilarity } from '../../src/faces/matcher.js';
import { FACE_MODEL } from '../../src/faces/model.js';
import { PRESENTATION_MODEL } from '../../src/faces/presentation.js';
import type { FaceTemplate } from '../../src/faces/types.js';
import { parseDg2Face } from '../../src/icao/dg2.js';
import { faceDg2Of } from '../../src/testing/passports/face-dg2.js';
import { samplePeople } from '../../src/testing/faces/index.js';

const people = await samplePeople();
const GROUP_PHOTO = readFileSync(join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo/sample1.jpg'));
const OPJ_JP2 = readFileSync(new URL('./fixtures/person-01-opj.jp2', import.meta.url));

/** A smooth gradient: an image, but no face. */
function gradient(): Buffer {
  const image = new PNG({ width: 200, height: 260 });
  for (let i = 0; i < 200 * 260; i++) image.data.set([i % 200, (i / 200) % 256, 120, 255], i * 4);
  return PNG.sync.write(image);
}

/** Model calls take about half a second each on an idle 2-core machine, and several times that on a busy one. */
const MODEL_TEST = { timeout: 180_000 };

describe('the face matcher (face-api in worker threads)', () => {
  let matcher: FaceEngine;
  const documents: FaceTemplate[] = [];
  const selfies: FaceTemplate[] = [];
  beforeAll(async () => {
    matcher = createFaceMatcher({ threshold: DEFAULT_FACE_THRESHOLD, workers: 1, queue: 16, timeoutMs: 120_000 });
    for (const person of people) {
      documents.push((await matcher.template(person.documentPhoto)).template as FaceTemplate);
      selfies.push((await matcher.template(person.selfie)).template as FaceTemplate);
    }
  }, 600_000);
  afterAll(() => matcher.close());

  it('matches a selfie with its holder’s document photo, and records the decision as evidence', MODEL_TEST, async () => {
    const comparison = await matcher.compare(people[0]!.documentPhoto, people[0]!.selfie);
    expect(comparison).toMatchObject({ model: FACE_MODEL, threshold: DEFAULT_FACE_THRESHOLD, decision: 'match' });
    expect(comparison.modelHash).toMatch(/^[0-9a-f]{64}$/);
    expect(comparison.score).toBeGreaterThanOrEqual(DEFAULT_FACE_THRESHOLD);
    expect(comparison.reference).toMatchObject({ faces: 1, flags: [] });
    // The probe (the selfie) carries advisory presentation-attack scores, the reference none: recorded, deciding nothing.
    expect(comparison.reference.presentation).toBeUndefined();
    const { presentation } = comparison.probe;
    expect(presentation).toMatchObject({ model: PRESENTATION_MODEL });
    for (const score of [presentation!.antispoof, presentation!.liveness]) {
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
  });

  it('matches every sample person with themselves and with nobody else', () => {
    for (const [i, document] of documents.entries()) {
      for (const [j, selfie] of selfies.entries()) {
        const score = faceSimilarity(document.descriptor, selfie.descriptor);
        expect(score >= DEFAULT_FACE_THRESHOLD, `document ${i} vs selfie ${j}: ${score}`).toBe(i === j);
      }
    }
  });

  it('does not match another person’s selfie, and a stored template compares like its image', MODEL_TEST, async () => {
    expect(await matcher.compare(people[0]!.documentPhoto, people[1]!.selfie)).toMatchObject({ decision: 'mismatch' });
    expect(await matcher.compare(documents[1] as FaceTemplate, people[1]!.selfie)).toMatchObject({ decision: 'match' });
  });

  it('matches a selfie with the JPEG 2000 chip photo of a DG2 written by OpenJPEG', MODEL_TEST, async () => {
    const chipPhoto = parseDg2Face(faceDg2Of(OPJ_JP2, 'jpeg2000')).image;
    expect(await matcher.compare(chipPhoto, people[0]!.selfie)).toMatchObject({ decision: 'match' });
  });

  it('flags an image without a face, and decides nothing', MODEL_TEST, async () => {
    expect(await matcher.template(gradient())).toEqual({ quality: { faces: 0, flags: ['no_face'] } });
    const comparison = await matcher.compare(people[0]!.documentPhoto, gradient());
    expect(comparison).toMatchObject({ decision: 'unusable', probe: { faces: 0, flags: ['no_face'] } });
    expect(comparison.score).toBeUndefined();
  });

  it('flags several faces and describes the largest', MODEL_TEST, async () => {
    const found = await matcher.template(GROUP_PHOTO);
    expect(found.quality.faces).toBeGreaterThanOrEqual(3);
    expect(found.quality.flags).toEqual(['several_faces']);
    expect(found.template?.descriptor).toHaveLength(128);
  });

  it('flags an unreadable image', async () => {
    expect(await matcher.template(Buffer.from('not an image at all'))).toEqual({ quality: { faces: 0, flags: ['unreadable_image'] } });
  });

  it('refuses to compare a template of another model', async () => {
    const stale: FaceTemplate = { model: 'another-model', descriptor: new Array(128).fill(0) };
    await expect(matcher.compare(stale, people[0]!.selfie)).rejects.toThrow(/another-model cannot be compared/);
  });
});

describe('the face matcher under pressure', () => {
  it('refuses a call beyond its workers and queue with face_matcher_busy', MODEL_TEST, async () => {
    const matcher = createFaceMatcher({ threshold: DEFAULT_FACE_THRESHOLD, workers: 1, queue: 0, timeoutMs: 60_000 });
    try {
      const first = matcher.template(people[0]!.documentPhoto);
      await expect(matcher.template(people[1]!.documentPhoto)).rejects.toMatchObject({
        code: 'face_matcher_busy',
        headers: { 'Retry-After': expect.any(String) },
      });
      expect((await first).template).toBeDefined();
    } finally {
      await matcher.close();
    }
  });

  it('gives up on a call past its time limit with face_match_timeout, each time (its worker is replaced)', MODEL_TEST, async () => {
    const matcher = createFaceMatcher({ threshold: DEFAULT_FACE_THRESHOLD, workers: 1, queue: 4, timeoutMs: 1 });
    try {
      await matcher.start();
      // One millisecond is less than any detection takes: the call times out while its worker is still working.
      await expect(matcher.template(GROUP_PHOTO)).rejects.toMatchObject({ code: 'face_match_timeout', status: 503 });
      await expect(matcher.template(GROUP_PHOTO)).rejects.toMatchObject({ code: 'face_match_timeout' });
    } finally {
      await matcher.close();
    }
  });
});
