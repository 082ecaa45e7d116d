/**
 * Image transforms that make different "captures" of one face from one photo: crop margins, chip-photo and small
 * sizes, lighting, greyscale, shifts, mirroring, mild rotation, and lossy JPEG / JPEG 2000 round trips. They
 * imitate how a capture and its encoding vary; they cannot imitate ageing, pose, expression or another camera.
 */
import { decodeJpeg2000, encodeJpeg2000 } from '../../faces/jpeg2000.js';
import { encodeJpeg, type RgbImage } from '../../faces/image.js';

export interface FaceBox {
  /** Top-left corner and side of the detector's square box, in pixels of the source photo. */
  x: number;
  y: number;
  size: number;
}

export interface CaptureRecipe {
  name: string;
  /** Crop width as a multiple of the face box; the crop is 3:4 portrait like a passport photo. */
  margin: number;
  width: number;
  /** Horizontal shift of the crop window, as a fraction of the face box. */
  shift?: number;
  degrees?: number;
  brightness?: number;
  contrast?: number;
  grey?: boolean;
  mirror?: boolean;
  encoding: { kind: 'jpeg'; quality: number } | { kind: 'j2k'; ratio: number };
}

/** Crops a 3:4 window around the face (the face a little above the centre, as on a passport photo) and resizes it. */
export function portrait(source: RgbImage, box: FaceBox, recipe: CaptureRecipe): RgbImage {
  const cropWidth = box.size * recipe.margin;
  const cropHeight = (cropWidth * 4) / 3;
  const centreX = box.x + box.size / 2 + (recipe.shift ?? 0) * box.size;
  const centreY = box.y + box.size * 0.6;
  const width = recipe.width;
  const height = Math.round((width * 4) / 3);
  const angle = ((recipe.degrees ?? 0) * Math.PI) / 180;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Output pixel → offset from the crop centre (rotated, mirrored) → source pixel, sampled bilinearly.
      const u = ((recipe.mirror ? width - 1 - x : x) / width - 0.5) * cropWidth;
      const v = (y / height - 0.5) * cropHeight;
      const sx = centreX + u * cos - v * sin;
      const sy = centreY + u * sin + v * cos;
      sampleInto(source, sx, sy, data, (y * width + x) * 3);
    }
  }
  return adjust({ width, height, data }, recipe);
}

function sampleInto(source: RgbImage, sx: number, sy: number, out: Uint8Array, at: number): void {
  const x0 = Math.min(source.width - 1, Math.max(0, Math.floor(sx)));
  const y0 = Math.min(source.height - 1, Math.max(0, Math.floor(sy)));
  const fx = Math.min(1, Math.max(0, sx - x0));
  const fy = Math.min(1, Math.max(0, sy - y0));
  const a = (y0 * source.width + x0) * 3;
  const right = x0 + 1 < source.width ? 3 : 0;
  const down = y0 + 1 < source.height ? source.width * 3 : 0;
  const d = source.data;
  for (let c = 0; c < 3; c++) {
    const top = (d[a + c] as number) * (1 - fx) + (d[a + right + c] as number) * fx;
    const bottom = (d[a + down + c] as number) * (1 - fx) + (d[a + down + right + c] as number) * fx;
    out[at + c] = Math.round(top * (1 - fy) + bottom * fy);
  }
}

function adjust(image: RgbImage, recipe: CaptureRecipe): RgbImage {
  const brightness = recipe.brightness ?? 0;
  const contrast = recipe.contrast ?? 1;
  const data = image.data;
  for (let p = 0; p < data.length; p += 3) {
    if (recipe.grey) {
      const luma = 0.299 * (data[p] as number) + 0.587 * (data[p + 1] as number) + 0.114 * (data[p + 2] as number);
      data[p] = data[p + 1] = data[p + 2] = luma;
    }
    for (let c = 0; c < 3; c++) data[p + c] = Math.max(0, Math.min(255, Math.round(((data[p + c] as number) - 128) * contrast + 128 + brightness)));
  }
  return image;
}

/** The capture as its encoded bytes: what a phone uploads or a chip stores. */
export async function encodeCapture(image: RgbImage, recipe: CaptureRecipe): Promise<Buffer> {
  if (recipe.encoding.kind === 'j2k') return encodeJpeg2000(image, recipe.encoding.ratio);
  return encodeJpeg(image, recipe.encoding.quality);
}

export { encodeJpeg };

/** Decodes a J2K this module encoded (kept for round-trip checks in tests). */
export const decodeCaptureJ2k = decodeJpeg2000;
