/**
 * The face model, run inside a face worker (never on the event loop): @vladmandic/face-api's SSD MobileNet v1
 * detector, with the Tiny Face Detector as a second chance for small or tightly cropped faces SSD misses, then the
 * 68-point landmarks that align the face, and dlib's ResNet-34 128-d descriptor. All weights ship inside the npm
 * package; they are read from disk once per worker, and their SHA-256 names the exact model in the evidence.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FaceQuality, FaceQualityFlag } from './types.js';
import { downscale, type RgbImage } from './image.js';

/** Names the detector, the aligner and the descriptor: templates of another model are never compared. */
export const FACE_MODEL = 'face-api-1.7.15:ssd-mobilenetv1+tinyface/landmarks68/dlib-resnet34-128d';

/** The nets in the order they are loaded; each is a weights manifest and its .bin file. */
const NETS = ['ssd_mobilenetv1_model', 'tiny_face_detector_model', 'face_landmark_68_model', 'face_recognition_model'] as const;

/** Detection runs on a 512 px input and the descriptor on a 150 px crop: more pixels only cost time. */
export const WORKING_SIDE = 1024;
/** Below this width (in pixels of the decoded image) a face is too small for a trustworthy descriptor. */
export const MIN_FACE_WIDTH = 40;
const SSD_MIN_CONFIDENCE = 0.5;
const TINY_MIN_SCORE = 0.5;

export interface FaceExtraction {
  quality: FaceQuality;
  descriptor?: number[];
  /** The chosen face's box in decoded-image pixels (used to crop the labelled test set). */
  box?: { x: number; y: number; width: number; height: number };
  /** Why the image could not be read (for the operator; never includes image bytes). */
  unreadable?: string;
  /** The decoded image as JPEG, when the job asked for one (to show a JPEG 2000 photo in a browser). */
  jpeg?: Uint8Array;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface FaceResult {
  detection: { box: Box };
  descriptor: Float32Array;
}
interface Tensor {
  dispose(): void;
}
interface FaceApi {
  tf: {
    pad(tensor: Tensor, paddings: Array<[number, number]>, value: number): Tensor;
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    tensor3d(data: Uint8Array, shape: [number, number, number], dtype: 'int32'): Tensor;
  };
  nets: Record<'ssdMobilenetv1' | 'tinyFaceDetector' | 'faceLandmark68Net' | 'faceRecognitionNet', { loadFromDisk(dir: string): Promise<void> }>;
  SsdMobilenetv1Options: new (options: { minConfidence: number; maxResults: number }) => unknown;
  TinyFaceDetectorOptions: new (options: { inputSize: number; scoreThreshold: number }) => unknown;
  detectAllFaces(input: Tensor, options: unknown): { withFaceLandmarks(): { withFaceDescriptors(): Promise<FaceResult[]> } };
}

const require = createRequire(import.meta.url);

export interface FaceModel {
  readonly name: string;
  /** SHA-256 over every weight file, in load order. */
  readonly hash: string;
  extract(image: RgbImage): Promise<FaceExtraction>;
}

/** Loads the model (about 1 s, once per worker). Package paths are resolved from here, never from the working directory. */
export async function loadFaceModel(): Promise<FaceModel> {
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
  // A plain directory with a trailing slash: Node's fetch refuses file paths, so the platform fetch stays off.
  wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
  await faceapi.tf.setBackend('wasm');
  await faceapi.tf.ready();
  const modelDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  const hash = hashWeights(modelDir);
  return { name: FACE_MODEL, hash, extract: (image) => extract(faceapi, image) };
}

function hashWeights(modelDir: string): string {
  const hash = createHash('sha256');
  for (const net of NETS) {
    hash.update(readFileSync(join(modelDir, `${net}-weights_manifest.json`)));
    hash.update(readFileSync(join(modelDir, `${net}.bin`)));
  }
  return hash.digest('hex');
}

/**
 * A cascade, stopping at the first detector that finds a face: SSD, then SSD on the image padded with grey (a face
 * that fills the frame, as on a chip photo, is often missed without context around it), then the Tiny Face Detector
 * on both. Easy images pay for one detector; the harder ones for more.
 */
async function extract(faceapi: FaceApi, image: RgbImage): Promise<FaceExtraction> {
  const working = downscale(image, WORKING_SIDE);
  const scale = image.width / working.width;
  const tensor = faceapi.tf.tensor3d(working.data, [working.height, working.width, 3], 'int32');
  const padX = Math.round(working.width / 2);
  const padY = Math.round(working.height / 2);
  const padded = faceapi.tf.pad(
    tensor,
    [
      [padY, padY],
      [padX, padX],
      [0, 0],
    ],
    128,
  );
  const ssd = new faceapi.SsdMobilenetv1Options({ minConfidence: SSD_MIN_CONFIDENCE, maxResults: 20 });
  const tiny = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: TINY_MIN_SCORE });
  const attempts = [
    { input: tensor, options: ssd, offset: { x: 0, y: 0 } },
    { input: padded, options: ssd, offset: { x: padX, y: padY } },
    { input: tensor, options: tiny, offset: { x: 0, y: 0 } },
    { input: padded, options: tiny, offset: { x: padX, y: padY } },
  ];
  try {
    for (const { input, options, offset } of attempts) {
      const faces = await faceapi.detectAllFaces(input, options).withFaceLandmarks().withFaceDescriptors();
      if (faces.length > 0) return describeLargest(faces, scale, offset);
    }
    return { quality: { faces: 0, flags: ['no_face'] } };
  } finally {
    tensor.dispose();
    padded.dispose();
  }
}

/**
 * The largest face is the subject (a document photo has one; a selfie's subject is nearest the camera). Other faces
 * are flagged, not refused: the evidence records them and the caller decides.
 */
function describeLargest(faces: FaceResult[], scale: number, offset: { x: number; y: number }): FaceExtraction {
  const largest = faces.reduce((a, b) => (b.detection.box.width > a.detection.box.width ? b : a));
  const { x, y, width, height } = largest.detection.box;
  const box = {
    x: Math.round((x - offset.x) * scale),
    y: Math.round((y - offset.y) * scale),
    width: Math.round(width * scale),
    height: Math.round(height * scale),
  };
  const flags: FaceQualityFlag[] = faces.length > 1 ? ['several_faces'] : [];
  const quality: FaceQuality = { faces: faces.length, faceWidth: box.width, flags };
  if (box.width < MIN_FACE_WIDTH) return { quality: { ...quality, flags: [...flags, 'face_too_small'] }, box };
  return { quality, box, descriptor: Array.from(largest.descriptor) };
}
