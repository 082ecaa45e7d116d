/**
 * A face worker thread: loads the model once, then answers one job at a time with the face found in an image.
 * Decoding happens here too, so that neither a large JPEG nor a JPEG 2000 ever occupies the event loop.
 */
import { parentPort } from 'node:worker_threads';
import { FaceImageError } from './errors.js';
import { decodeImage, downscale, encodeJpeg } from './image.js';
import { type FaceExtraction, loadFaceModel, WORKING_SIDE } from './model.js';
import { loadPresentationModel } from './presentation.js';

export interface FaceWorkerInfo {
  model: string;
  modelHash: string;
}

/** One image, whether to score it for presentation attacks too (probes: selfies), and whether to return it as JPEG. */
export interface FaceJob {
  image: Uint8Array;
  presentation: boolean;
  jpeg: boolean;
}

const JPEG_QUALITY = 90;

const port = parentPort;
if (!port) throw new Error('the face worker runs only as a worker thread');
const model = await loadFaceModel();
const presentation = await loadPresentationModel();
port.on('message', (job: FaceJob) => {
  void extractFrom(job).then(
    (output) => port.postMessage({ ok: true, output }),
    (error: Error) => port.postMessage({ ok: false, message: error.message }),
  );
});
port.postMessage({ type: 'ready', info: { model: model.name, modelHash: model.hash } satisfies FaceWorkerInfo });

async function extractFrom(job: FaceJob): Promise<FaceExtraction> {
  try {
    const image = await decodeImage(job.image);
    const found = await model.extract(image);
    const rendition = job.jpeg ? { jpeg: encodeJpeg(downscale(image, WORKING_SIDE), JPEG_QUALITY) } : {};
    if (!job.presentation || !found.descriptor) return { ...found, ...rendition };
    const scores = await presentation.score(downscale(image, WORKING_SIDE));
    return { ...found, ...rendition, ...(scores ? { quality: { ...found.quality, presentation: scores } } : {}) };
  } catch (error) {
    if (error instanceof FaceImageError) return { quality: { faces: 0, flags: ['unreadable_image'] }, unreadable: error.message };
    throw error;
  }
}
