/**
 * Image decoding for face matching: JPEG (jpeg-js), PNG (pngjs) and JPEG 2000 (OpenJPEG). Every decoder is given
 * the image's declared size first, so that a small hostile file claiming a huge canvas is refused before any pixel
 * buffer is allocated. Decoding runs in the face workers, never on the event loop.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { FaceImageError } from './errors.js';
import { sniffImageFormat } from './image-format.js';
import { decodeJpeg2000, jpeg2000Size } from './jpeg2000.js';

/** 8-bit RGB, row by row. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Larger than any photo a phone or a chip gives (a 50 MP sensor is 8160×6120); the bound on decoded memory. */
export const MAX_IMAGE_PIXELS = 50_000_000;
/** Larger than any photo upload needs. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** Decodes any supported image to RGB; throws FaceImageError for anything else. */
export async function decodeImage(bytes: Uint8Array): Promise<RgbImage> {
  if (bytes.length > MAX_IMAGE_BYTES) throw new FaceImageError(`the image is larger than ${MAX_IMAGE_BYTES} bytes`);
  const format = sniffImageFormat(bytes);
  switch (format) {
    case 'jpeg':
      return decodeJpegImage(bytes);
    case 'png':
      return decodePngImage(bytes);
    case 'jp2':
    case 'j2k': {
      checkSize(jpeg2000Size(bytes));
      const decoded = await decodeJpeg2000(bytes);
      return toRgb(decoded.width, decoded.height, decoded.components, decoded.data);
    }
    default:
      throw new FaceImageError('the image is neither JPEG, PNG nor JPEG 2000');
  }
}

function checkSize({ width, height }: { width: number; height: number }): void {
  if (!(width > 0 && height > 0)) throw new FaceImageError('the image has no pixels');
  if (width * height > MAX_IMAGE_PIXELS) throw new FaceImageError(`the image has more than ${MAX_IMAGE_PIXELS} pixels`);
}

function decodeJpegImage(bytes: Uint8Array): RgbImage {
  try {
    // jpeg-js checks the frame size against these bounds before it allocates the image.
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
    checkSize(image);
    return { width: image.width, height: image.height, data: image.data };
  } catch (error) {
    if (error instanceof FaceImageError) throw error;
    throw new FaceImageError(`the JPEG image could not be decoded (${(error as Error).message})`);
  }
}

function decodePngImage(bytes: Uint8Array): RgbImage {
  // IHDR is always the first chunk: signature (8), length (4), "IHDR" (4), width (4), height (4).
  if (bytes.length < 24) throw new FaceImageError('the PNG image is truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkSize({ width: view.getUint32(16), height: view.getUint32(20) });
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new FaceImageError(`the PNG image could not be decoded (${(error as Error).message})`);
  }
  return toRgb(png.width, png.height, 4, png.data);
}

/** Interleaved samples with 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) components, to RGB. */
export function toRgb(width: number, height: number, components: number, samples: Uint8Array): RgbImage {
  const pixels = width * height;
  if (samples.length < pixels * components) throw new FaceImageError('the image data is shorter than its size');
  if (components === 3) return { width, height, data: samples.subarray(0, pixels * 3) };
  const data = new Uint8Array(pixels * 3);
  const colour = components >= 3;
  for (let p = 0; p < pixels; p++) {
    const at = p * components;
    data[p * 3] = samples[at] as number;
    data[p * 3 + 1] = samples[colour ? at + 1 : at] as number;
    data[p * 3 + 2] = samples[colour ? at + 2 : at] as number;
  }
  return { width, height, data };
}

/**
 * Shrinks the image so that its longer side is at most `maxSide` (area average, so no aliasing), or returns it as
 * it is. Detection works on a 512 px input anyway; the descriptor's 150 px crop needs no more than this.
 */
export function downscale(image: RgbImage, maxSide: number): RgbImage {
  const scale = maxSide / Math.max(image.width, image.height);
  if (scale >= 1) return image;
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const sums = new Float64Array(width * height * 3);
  const counts = new Uint32Array(width * height);
  for (let y = 0; y < image.height; y++) {
    const row = Math.min(height - 1, Math.floor((y * height) / image.height)) * width;
    for (let x = 0; x < image.width; x++) {
      const target = row + Math.min(width - 1, Math.floor((x * width) / image.width));
      const source = (y * image.width + x) * 3;
      for (let c = 0; c < 3; c++) sums[target * 3 + c] = (sums[target * 3 + c] as number) + (image.data[source + c] as number);
      counts[target] = (counts[target] as number) + 1;
    }
  }
  const data = new Uint8Array(sums.length);
  for (let i = 0; i < sums.length; i++) data[i] = Math.round((sums[i] as number) / (counts[Math.floor(i / 3)] as number));
  return { width, height, data };
}

/** Encodes RGB as a baseline JPEG: what a browser shows of an image it could not display as stored (JPEG 2000). */
export function encodeJpeg(image: RgbImage, quality: number): Buffer {
  const rgba = Buffer.alloc(image.width * image.height * 4, 255);
  for (let p = 0; p < image.width * image.height; p++) {
    rgba[p * 4] = image.data[p * 3] as number;
    rgba[p * 4 + 1] = image.data[p * 3 + 1] as number;
    rgba[p * 4 + 2] = image.data[p * 3 + 2] as number;
  }
  return jpeg.encode({ width: image.width, height: image.height, data: rgba }, quality).data;
}
