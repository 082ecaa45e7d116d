/**
 * A labelled face set for calibration, benchmarks and tests, built at run time from the six group photos that
 * @vladmandic/face-api ships in `demo/` (MIT licence, about 22 distinct people). No multi-session face set with a
 * usable licence was within reach (npm registry, Debian packages), so each person's genuine captures are *derived*
 * from one photo: different crops, sizes, lighting, greyscale, mirroring, rotation and lossy JPEG / JPEG 2000
 * encodings; the other people's faces in each photo are masked. The set measures robustness to capture and encoding variation, and separation between different
 * people; it says nothing of ageing, pose, expression or a different camera, so its FNMR is optimistic.
 *
 * Tests and benchmarks only: nothing the server imports may import this folder.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeImage, type RgbImage } from '../../faces/image.js';
import { type CaptureRecipe, encodeCapture, type FaceBox, portrait } from './captures.js';

/**
 * Where each person's face is in the demo photos: SSD MobileNet v1 boxes (confidence ≥ 0.5), recorded once so that
 * building the set needs no model. Left to right within a photo; each box is one distinct person.
 */
const PEOPLE: ReadonlyArray<FaceBox & { photo: string }> = [
  { photo: 'sample1.jpg', x: 414, y: 355, size: 238 },
  { photo: 'sample1.jpg', x: 838, y: 421, size: 227 },
  { photo: 'sample1.jpg', x: 1476, y: 200, size: 241 },
  { photo: 'sample2.jpg', x: 361, y: 127, size: 258 },
  { photo: 'sample2.jpg', x: 901, y: 218, size: 235 },
  { photo: 'sample2.jpg', x: 1447, y: 153, size: 243 },
  { photo: 'sample3.jpg', x: 585, y: 329, size: 271 },
  { photo: 'sample3.jpg', x: 1075, y: 215, size: 299 },
  { photo: 'sample3.jpg', x: 1514, y: 292, size: 279 },
  { photo: 'sample4.jpg', x: 257, y: 184, size: 246 },
  { photo: 'sample4.jpg', x: 664, y: 52, size: 258 },
  { photo: 'sample4.jpg', x: 988, y: 180, size: 228 },
  { photo: 'sample4.jpg', x: 1277, y: 144, size: 243 },
  { photo: 'sample5.jpg', x: 377, y: 859, size: 300 },
  { photo: 'sample5.jpg', x: 597, y: 415, size: 249 },
  { photo: 'sample5.jpg', x: 787, y: 109, size: 212 },
  { photo: 'sample5.jpg', x: 1112, y: 198, size: 237 },
  { photo: 'sample5.jpg', x: 1406, y: 390, size: 270 },
  { photo: 'sample6.jpg', x: 250, y: 467, size: 291 },
  { photo: 'sample6.jpg', x: 681, y: 321, size: 306 },
  { photo: 'sample6.jpg', x: 1181, y: 305, size: 280 },
  { photo: 'sample6.jpg', x: 1487, y: 263, size: 294 },
];

/** The captures made of every person: the first is the chip-like document photo, the second the selfie. */
export const CAPTURES: readonly CaptureRecipe[] = [
  { name: 'chip photo 240x320 JPEG q90', margin: 1.9, width: 240, encoding: { kind: 'jpeg', quality: 90 } },
  {
    name: 'selfie 480x640, wider, brighter, shifted',
    margin: 2.6,
    width: 480,
    shift: 0.12,
    brightness: 20,
    contrast: 1.1,
    encoding: { kind: 'jpeg', quality: 85 },
  },
  { name: 'chip photo, JPEG 2000 (J2K 1:30)', margin: 1.8, width: 240, encoding: { kind: 'j2k', ratio: 30 } },
  { name: 'greyscale 300x400', margin: 2.0, width: 300, grey: true, encoding: { kind: 'jpeg', quality: 80 } },
  { name: 'JPEG q20', margin: 1.9, width: 240, encoding: { kind: 'jpeg', quality: 20 } },
  { name: 'rotated 8°, darker, low contrast', margin: 2.2, width: 360, degrees: 8, brightness: -30, contrast: 0.8, encoding: { kind: 'jpeg', quality: 85 } },
  { name: 'small 120x160', margin: 2.0, width: 120, encoding: { kind: 'jpeg', quality: 85 } },
  { name: 'mirrored, rotated -6°, shifted', margin: 2.4, width: 360, degrees: -6, shift: -0.15, mirror: true, encoding: { kind: 'jpeg', quality: 75 } },
];

export interface LabelledPerson {
  name: string;
  captures: Array<{ recipe: string; image: Buffer }>;
}

export interface FaceSetDescription {
  source: string;
  people: number;
  capturesPerPerson: number;
  images: number;
}

const require = createRequire(import.meta.url);
const demoDir = () => join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const photos = new Map<string, Promise<RgbImage>>();

function photo(name: string): Promise<RgbImage> {
  let decoded = photos.get(name);
  if (!decoded) {
    decoded = readFile(join(demoDir(), name)).then(decodeImage);
    photos.set(name, decoded);
  }
  return decoded;
}

/**
 * A copy of the group photo with the other people's faces covered in grey: a wide crop would otherwise hold a
 * neighbour's face, and the matcher, which takes the largest face, could describe the wrong person.
 */
function maskFaces(source: RgbImage, boxes: readonly FaceBox[]): RgbImage {
  const data = Uint8Array.from(source.data);
  for (const box of boxes) {
    const grow = box.size * 0.15;
    const x0 = Math.max(0, Math.floor(box.x - grow));
    const x1 = Math.min(source.width, Math.ceil(box.x + box.size + grow));
    const y0 = Math.max(0, Math.floor(box.y - grow));
    const y1 = Math.min(source.height, Math.ceil(box.y + box.size + grow));
    for (let y = y0; y < y1; y++) data.fill(128, (y * source.width + x0) * 3, (y * source.width + x1) * 3);
  }
  return { width: source.width, height: source.height, data };
}

const personName = (index: number) => `person-${String(index + 1).padStart(2, '0')}`;

async function capturesOf(index: number, recipes: readonly CaptureRecipe[]): Promise<LabelledPerson> {
  const person = PEOPLE[index] as (typeof PEOPLE)[number];
  const others = PEOPLE.filter((other, i) => other.photo === person.photo && i !== index);
  const source = maskFaces(await photo(person.photo), others);
  const captures = [];
  for (const recipe of recipes) captures.push({ recipe: recipe.name, image: await encodeCapture(portrait(source, person, recipe), recipe) });
  return { name: personName(index), captures };
}

/** The whole labelled set: every person, every capture. */
export async function labelledFaceSet(): Promise<{ description: FaceSetDescription; people: LabelledPerson[] }> {
  const people = [];
  for (let i = 0; i < PEOPLE.length; i++) people.push(await capturesOf(i, CAPTURES));
  return {
    description: {
      source: '@vladmandic/face-api demo/sample1-6.jpg (MIT), captures derived per person',
      people: people.length,
      capturesPerPerson: CAPTURES.length,
      images: people.length * CAPTURES.length,
    },
    people,
  };
}

/** The people of `samplePeople()`, as indexes into PEOPLE. */
const SAMPLE_PEOPLE = [0, 6, 10, 16] as const;
export const SAMPLE_PEOPLE_COUNT = SAMPLE_PEOPLE.length;

let samples: Promise<Array<{ name: string; documentPhoto: Buffer; selfie: Buffer }>> | undefined;

/**
 * Four distinct people (from four different photos), each with a chip-like document photo (JPEG 240×320) and a
 * selfie (a different derived capture, JPEG 480×640), for end-to-end tests: the holder's selfie matches their
 * document photo, another person's does not. Cached per process.
 */
export async function samplePeople(): Promise<Array<{ name: string; documentPhoto: Buffer; selfie: Buffer }>> {
  samples ??= Promise.all(
    SAMPLE_PEOPLE.map(async (index) => {
      const person = await capturesOf(index, CAPTURES.slice(0, 2));
      return { name: person.name, documentPhoto: person.captures[0]?.image as Buffer, selfie: person.captures[1]?.image as Buffer };
    }),
  );
  return samples;
}
