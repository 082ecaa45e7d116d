/**
 * The holder's photo for a synthetic DG2: a JPEG or PNG from the user, re-encoded as DG2 stores it (JPEG, or JPEG 2000
 * as most issuing states do), with the pixel size ISO/IEC 19794-5 records next to the image.
 *
 * JPEG 2000 comes from the face engine's OpenJPEG encoder (WASM, @cornerstonejs/codec-openjpeg). Its module
 * initialises asynchronously, so preparing a photo is async while `generatePassport` stays synchronous for its many callers.
 * The image codecs are imported when a photo is prepared, not when the CLI starts: every `reuseid` command loads
 * this module.
 */
import { encodeJpeg2000 } from '../../faces/jpeg2000.js';

export const PHOTO_FORMATS = ['jpeg', 'jpeg2000'] as const;
export type PhotoFormat = (typeof PHOTO_FORMATS)[number];

/** A face image ready for DG2: the encoded bytes and the decoded image's size. */
export interface DocumentPhoto {
  format: PhotoFormat;
  data: Buffer;
  width: number;
  height: number;
}

/** Interleaved 8-bit RGB pixels. */
interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** ISO/IEC 19794-5 stores width and height in two bytes; a passport photo is a few hundred pixels a side anyway. */
const MAX_SIDE = 4096;
/** JPEG quality and JPEG 2000 compression ratio: chip photos are 15–20 KB, not archival copies. */
const JPEG_QUALITY = 90;
const JPEG2000_COMPRESSION_RATIO = 20;

const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Decodes `image` (JPEG or PNG, told apart by their magic bytes) and encodes it as `format` wants. */
export async function preparePhoto(image: Buffer, format: PhotoFormat = 'jpeg'): Promise<DocumentPhoto> {
  const isJpeg = image.subarray(0, JPEG_MAGIC.length).equals(JPEG_MAGIC);
  if (!isJpeg && !image.subarray(0, PNG_MAGIC.length).equals(PNG_MAGIC)) throw new Error('the photo must be a JPEG or PNG image');
  const decoded = isJpeg ? await decodeJpeg(image) : await decodePng(image);
  const { width, height } = decoded;
  if (format === 'jpeg2000') return { format, data: await encodeJpeg2000({ width, height, data: decoded.rgb }, JPEG2000_COMPRESSION_RATIO), width, height };
  // A JPEG goes in as it came; only PNGs are re-encoded.
  const jpeg = await import('jpeg-js');
  return { format, data: isJpeg ? image : Buffer.from(jpeg.encode({ data: rgba(decoded), width, height }, JPEG_QUALITY).data), width, height };
}

async function decodeJpeg(image: Buffer): Promise<RgbImage> {
  const jpeg = await import('jpeg-js');
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(image, { useTArray: true, maxResolutionInMP: 16, maxMemoryUsageInMB: 128 });
  } catch (error) {
    throw new Error(`the photo is not a readable JPEG (${(error as Error).message})`);
  }
  return fromRgba(decoded);
}

async function decodePng(image: Buffer): Promise<RgbImage> {
  const { PNG } = await import('pngjs');
  let decoded: { width: number; height: number; data: Buffer };
  try {
    decoded = PNG.sync.read(image);
  } catch (error) {
    throw new Error(`the photo is not a readable PNG (${(error as Error).message})`);
  }
  return fromRgba(decoded);
}

/** Both decoders hand out RGBA whatever the source (grey, palette, alpha); the alpha channel is dropped. */
function fromRgba({ width, height, data }: { width: number; height: number; data: Uint8Array }): RgbImage {
  checkSize(width, height);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; i < data.length; i += 4, o += 3) rgb.set(data.subarray(i, i + 3), o);
  return { width, height, rgb };
}

function checkSize(width: number, height: number): void {
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) throw new Error(`the photo is ${width}x${height} pixels; at most ${MAX_SIDE} a side`);
}

function rgba({ width, height, rgb }: RgbImage): Buffer {
  const out = Buffer.alloc(width * height * 4, 0xff);
  for (let i = 0, o = 0; i < rgb.length; i += 3, o += 4) out.set(rgb.subarray(i, i + 3), o);
  return out;
}
