/**
 * The FaceMatcher behind the contract in types.ts: templates are computed in the worker pool, scores here (a
 * 128-number distance costs nothing). Score = 1 - Euclidean distance between the two dlib descriptors, so higher is
 * more alike and the usual dlib distance threshold 0.6 is a score of 0.4.
 *
 * The pool starts lazily, on the first template or comparison, unless `start()` is called: a process that never
 * compares faces (most CLI commands, most tests) never pays the model's load time and memory. A server that wants
 * its first comparison fast calls `start()` after listening.
 */
import type { FaceSettings } from '../config.js';
import { FACE_MODEL, type FaceExtraction } from './model.js';
import { siblingModule, WorkerPool } from './pool.js';
import type { FaceComparison, FaceMatcher, FaceQuality, FaceTemplate, TemplateOptions, TemplateResult } from './types.js';
import type { FaceJob, FaceWorkerInfo } from './worker.js';

export interface FaceEngine extends FaceMatcher {
  /** Starts the workers and waits until the model is loaded; returns its name and weights hash. */
  start(): Promise<FaceWorkerInfo>;
  close(): Promise<void>;
}

export function createFaceMatcher(settings: FaceSettings, options: { workerScript?: URL } = {}): FaceEngine {
  const pool = new WorkerPool<FaceJob, FaceExtraction, FaceWorkerInfo>({
    script: options.workerScript ?? siblingModule(import.meta.url, 'worker'),
    size: settings.workers,
    queue: settings.queue,
    timeoutMs: settings.timeoutMs,
  });

  const extract = (image: Uint8Array, options: TemplateOptions): Promise<FaceExtraction> => {
    // A copy, so the caller's Buffer (perhaps a slice of a shared pool) stays usable once this one is transferred.
    const copy = Uint8Array.from(image);
    return pool.run({ image: copy, presentation: options.presentation ?? false, jpeg: options.jpeg ?? false }, [copy.buffer]);
  };

  const template = async (image: Uint8Array, options: TemplateOptions = {}): Promise<TemplateResult> => {
    const found = await extract(image, options);
    const jpeg = found.jpeg ? { jpeg: Buffer.from(found.jpeg) } : {};
    if (!found.descriptor) return { quality: found.quality, ...jpeg };
    return { template: { model: FACE_MODEL, descriptor: found.descriptor }, quality: found.quality, ...jpeg };
  };

  const compareTemplates = async (reference: TemplateResult, probe: TemplateResult): Promise<FaceComparison> => {
    if (reference.template && reference.template.model !== FACE_MODEL) {
      throw new Error(`a template of model ${reference.template.model} cannot be compared with ${FACE_MODEL}`);
    }
    const { modelHash } = await pool.ready();
    const base = { model: FACE_MODEL, modelHash, threshold: settings.threshold, reference: reference.quality, probe: probe.quality };
    if (!reference.template || !probe.template) return { ...base, decision: 'unusable' };
    const score = faceSimilarity(reference.template.descriptor, probe.template.descriptor);
    return { ...base, score, decision: score >= settings.threshold ? 'match' : 'mismatch' };
  };

  const compare = async (reference: Uint8Array | FaceTemplate, probe: Uint8Array): Promise<FaceComparison> => {
    const [referenceSide, probeSide] = await Promise.all([
      reference instanceof Uint8Array ? template(reference) : { template: reference, quality: { faces: 1, flags: [] } satisfies FaceQuality },
      template(probe, { presentation: true }),
    ]);
    return compareTemplates(referenceSide, probeSide);
  };

  return {
    model: FACE_MODEL,
    threshold: settings.threshold,
    template,
    compare,
    compareTemplates,
    start: () => pool.ready(),
    close: () => pool.close(),
  };
}

/** 1 - Euclidean distance, rounded to 4 decimals: what is recorded is exactly what was compared with the threshold. */
export function faceSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error('face descriptors of different lengths');
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.round((1 - Math.sqrt(sum)) * 10_000) / 10_000;
}
