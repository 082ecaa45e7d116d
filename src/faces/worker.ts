/**
 * A face worker thread: loads the model once, then answers one job at a time with the face found in an image.
 * Decoding happens here too, so that neither a large JPEG nor a JPEG 2000 ever occupies the event loop.
 */
import { parentPort } from 'node:worker_threads';
import { FaceImageError } from './errors.js';
import { decodeImage } from './image.js';
import { type FaceExtraction, loadFaceModel } from './model.js';

export interface FaceWorkerInfo {
  model: string;
  modelHash: string;
}

const port = parentPort;
if (!port) throw new Error('the face worker runs only as a worker thread');
const model = await loadFaceModel();
port.on('message', (image: Uint8Array) => {
  void extractFrom(image).then(
    (output) => port.postMessage({ ok: true, output }),
    (error: Error) => port.postMessage({ ok: false, message: error.message }),
  );
});
port.postMessage({ type: 'ready', info: { model: model.name, modelHash: model.hash } satisfies FaceWorkerInfo });

async function extractFrom(bytes: Uint8Array): Promise<FaceExtraction> {
  try {
    return await model.extract(await decodeImage(bytes));
  } catch (error) {
    if (error instanceof FaceImageError) return { quality: { faces: 0, flags: ['unreadable_image'] }, unreadable: error.message };
    throw error;
  }
}
