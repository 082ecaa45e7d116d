/**
 * Advisory presentation-attack scores, run inside a face worker: @vladmandic/human's antispoof model (is this a real
 * face or a photo or screen of one?) and its liveness model, on the largest face its BlazeFace detector finds. They are
 * recorded next to the comparison as advisory values for reviewers and auditors; they decide nothing, and they are
 * not certified presentation attack detection (ISO/IEC 30107-3): nothing here was evaluated against attacks.
 *
 * Human shares TensorFlow.js (core, converter, WebAssembly backend) with face-api, so both run on one engine.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PresentationScores } from './types.js';
import type { RgbImage } from './image.js';

export const PRESENTATION_MODEL = 'human-3.3.6:blazeface/antispoof/liveness';

interface HumanFace {
  box: [number, number, number, number];
  real?: number;
  live?: number;
}
interface Human {
  load(): Promise<void>;
  detect(input: unknown): Promise<{ face: HumanFace[] }>;
  tf: { tensor4d(data: Uint8Array, shape: [number, number, number, number], dtype: 'int32'): { dispose(): void } };
}

const require = createRequire(import.meta.url);

export interface PresentationModel {
  score(image: RgbImage): Promise<PresentationScores | undefined>;
}

/** Loads the three small models (about 2 MB) from the package, never from the network. */
export async function loadPresentationModel(): Promise<PresentationModel> {
  serveFileUrls();
  // The package exports neither package.json nor its models: its main entry (dist/human.node.js) locates the folder.
  const packageDir = dirname(dirname(require.resolve('@vladmandic/human')));
  // The package's `exports` keys lack the './' prefix Node requires, so the build is loaded by its path.
  const { Human } = require(join(packageDir, 'dist', 'human.node-wasm.js')) as { Human: new (config: unknown) => Human };
  const human = new Human({
    backend: 'wasm',
    wasmPath: `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`,
    modelBasePath: `${pathToFileURL(join(packageDir, 'models')).href}/`,
    debug: false,
    face: {
      enabled: true,
      detector: { enabled: true, rotation: false, maxDetected: 5 },
      mesh: { enabled: false },
      iris: { enabled: false },
      description: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: true },
      liveness: { enabled: true },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
  });
  await human.load();
  return { score: (image) => score(human, image) };
}

async function score(human: Human, image: RgbImage): Promise<PresentationScores | undefined> {
  const tensor = human.tf.tensor4d(image.data, [1, image.height, image.width, 3], 'int32');
  try {
    const { face } = await human.detect(tensor);
    if (face.length === 0) return undefined;
    const largest = face.reduce((a, b) => (b.box[2] > a.box[2] ? b : a));
    if (largest.real === undefined || largest.live === undefined) return undefined;
    return { model: PRESENTATION_MODEL, antispoof: round(largest.real), liveness: round(largest.live) };
  } finally {
    tensor.dispose();
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Human loads models with fetch, and Node's fetch refuses file:// URLs: inside this worker thread (and only here),
 * file:// URLs are answered from disk, and any other URL is refused, so that no model can ever be downloaded.
 */
function serveFileUrls(): void {
  globalThis.fetch = async (input) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith('file://')) throw new Error(`the face worker fetches nothing from the network (${url})`);
    return new Response(await readFile(new URL(url)));
  };
}
