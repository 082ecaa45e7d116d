import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { FaceImageError } from '../../src/faces/errors.js';
import { decodeImage, downscale, type RgbImage } from '../../src/faces/image.js';
import { sniffImageFormat } from '../../src/faces/image-format.js';
import { encodeJpeg2000 } from '../../src/faces/jpeg2000.js';
import { encodeJpeg } from '../../src/testing/faces/captures.js';
import { samplePeople } from '../../src/testing/faces/index.js';

/** Written by OpenJPEG's opj_compress from person-01's document photo (fixtures/README.md). */
const OPJ_JP2 = readFileSync(new URL('./fixtures/person-01-opj.jp2', import.meta.url));
const OPJ_J2K = readFileSync(new URL('./fixtures/person-01-opj.j2k', import.meta.url));
// Built once per process (decoding the demo photos takes a few seconds), outside any test's time limit.
const people = await samplePeople();

const meanAbsoluteDifference = (a: RgbImage, b: RgbImage) => {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs((a.data[i] as number) - (b.data[i] as number));
  return sum / a.data.length;
};

function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      image.data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return PNG.sync.write(image);
}

describe('face image decoding', () => {
  it('decodes a JPEG', async () => {
    const [person] = people;
    const image = await decodeImage(person!.documentPhoto);
    expect([image.width, image.height, image.data.length]).toEqual([240, 320, 240 * 320 * 3]);
  });

  it('decodes a PNG to exact RGB', async () => {
    const image = await decodeImage(png(3, 2, (x, y) => [x * 10, y * 20, 200]));
    expect([image.width, image.height]).toEqual([3, 2]);
    expect(Array.from(image.data.subarray(0, 6))).toEqual([0, 0, 200, 10, 0, 200]);
    expect(Array.from(image.data.subarray(15, 18))).toEqual([20, 20, 200]);
  });

  it('decodes a JP2 file and a raw J2K codestream written by an independent encoder (opj_compress) to the photo they encode', async () => {
    const [person] = people;
    const original = await decodeImage(person!.documentPhoto);
    expect(sniffImageFormat(OPJ_JP2)).toBe('jp2');
    expect(sniffImageFormat(OPJ_J2K)).toBe('j2k');
    for (const encoded of [OPJ_JP2, OPJ_J2K]) {
      const decoded = await decodeImage(encoded);
      expect([decoded.width, decoded.height]).toEqual([240, 320]);
      // Lossy at 1:20 and 1:40: close to the photo, pixel for pixel (a wrong channel order or stride would be far off).
      expect(meanAbsoluteDifference(decoded, original)).toBeLessThan(8);
    }
  });

  it('round-trips through the codec own encoder', async () => {
    const source = await decodeImage(png(64, 48, (x, y) => [x * 4, y * 5, 128]));
    const decoded = await decodeImage(await encodeJpeg2000(source, 5));
    expect([decoded.width, decoded.height]).toEqual([64, 48]);
    expect(meanAbsoluteDifference(decoded, source)).toBeLessThan(4);
  });

  it('refuses what is not an image, and broken images, with FaceImageError', async () => {
    await expect(decodeImage(Buffer.from('GIF89a not supported'))).rejects.toThrow(/neither JPEG, PNG nor JPEG 2000/);
    await expect(decodeImage(OPJ_JP2.subarray(0, 40))).rejects.toBeInstanceOf(FaceImageError);
    await expect(decodeImage(OPJ_J2K.subarray(0, 300))).rejects.toBeInstanceOf(FaceImageError);
    const [person] = people;
    await expect(decodeImage(person!.documentPhoto.subarray(0, 200))).rejects.toBeInstanceOf(FaceImageError);
  });

  it('refuses a small file that declares a huge canvas before allocating it', async () => {
    const hugePng = png(2, 2, () => [0, 0, 0]);
    hugePng.writeUInt32BE(100_000, 16);
    hugePng.writeUInt32BE(100_000, 20);
    await expect(decodeImage(hugePng)).rejects.toThrow(/more than 50000000 pixels/);

    const hugeJpeg = encodeJpeg({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) }, 90);
    const sof = hugeJpeg.indexOf(Buffer.from([0xff, 0xc0]));
    hugeJpeg.writeUInt16BE(60_000, sof + 5);
    hugeJpeg.writeUInt16BE(60_000, sof + 7);
    await expect(decodeImage(hugeJpeg)).rejects.toBeInstanceOf(FaceImageError);

    const hugeJ2k = Buffer.from(OPJ_J2K);
    hugeJ2k.writeUInt32BE(1_000_000, 8); // SIZ Xsiz
    hugeJ2k.writeUInt32BE(1_000_000, 12); // SIZ Ysiz
    await expect(decodeImage(hugeJ2k)).rejects.toThrow(/more than 50000000 pixels/);
  });

  it('downscales a large image by area averaging, and leaves a small one as it is', () => {
    const data = new Uint8Array(4 * 2 * 3);
    data.fill(200, 0, 6); // the first two pixels of the top row
    const image = { width: 4, height: 2, data };
    const half = downscale(image, 2);
    expect([half.width, half.height]).toEqual([2, 1]);
    expect(Array.from(half.data)).toEqual([100, 100, 100, 0, 0, 0]);
    expect(downscale(image, 4)).toBe(image);
  });
});
