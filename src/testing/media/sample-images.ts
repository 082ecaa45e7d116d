import { crc32, deflateSync } from 'node:zlib';
import { decodeImage, type RgbImage } from '../../faces/image.js';
import { buildMrz } from '../../icao/mrz.js';
import { samplePeople } from '../faces/index.js';

/**
 * Small, valid sample captures generated in code (no binary fixtures): a passport-like data page as PNG, the back of
 * a card as PNG and a selfie as JPEG, with the MRZ that matches the data page. For demos, the simulator and tests.
 * `sampleImages()` draws a face-like shape (no face a detector finds); `samplePersonImages(n)` puts a real sample
 * person's document photo on the data page and uses that person's selfie, so that face matching gives a real score.
 */
export const SAMPLE_IDENTITY = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' } as const;

type Rgb = [number, number, number];

export function sampleMrz(): string {
  return buildMrz({
    format: 'TD3',
    documentCode: 'P',
    issuingState: 'NOR',
    documentNumber: 'AB1234567',
    nationality: 'NOR',
    lastName: SAMPLE_IDENTITY.lastName,
    firstName: SAMPLE_IDENTITY.firstName,
    dateOfBirth: SAMPLE_IDENTITY.dateOfBirth,
    dateOfExpiry: `${new Date().getUTCFullYear() + 5}-06-30`,
    sex: 'F',
  }).join('\n');
}

export type SampleImages = { 'document-front.png': Buffer; 'document-back.png': Buffer; 'selfie.jpg': Buffer; 'mrz.txt': Buffer };

export function sampleImages(): SampleImages {
  return {
    'document-front.png': encodePng(320, 200, documentFront(null)),
    'document-back.png': encodePng(320, 200, documentBack),
    'selfie.jpg': encodeGrayJpeg(96, 128, selfie),
    'mrz.txt': Buffer.from(`${sampleMrz()}\n`),
  };
}

/**
 * The same data page at three times the size with sample person `person`'s document photo (1 to SAMPLE_PEOPLE_COUNT) in
 * its photo box, and that person's selfie. The MRZ stays the sample identity's: the data page's text is drawn as bars.
 */
export async function samplePersonImages(person = 1): Promise<SampleImages> {
  const people = await samplePeople();
  const chosen = people[person - 1];
  if (!Number.isInteger(person) || !chosen) throw new RangeError(`there are sample people 1 to ${people.length}, not ${person}`);
  return {
    ...sampleImages(),
    'document-front.png': encodePng(320 * PHOTO_SCALE, 200 * PHOTO_SCALE, documentFront(await decodeImage(chosen.documentPhoto))),
    'selfie.jpg': chosen.selfie,
  };
}

const inBox = (x: number, y: number, left: number, top: number, width: number, height: number) => x >= left && x < left + width && y >= top && y < top + height;

/** A data page with a real photo is drawn this many times larger, so that the photo keeps a face a detector finds. */
const PHOTO_SCALE = 3;
const PHOTO_BOX = { left: 16, top: 44, width: 80, height: 104 };

/** The data page's pixels: with a photo at PHOTO_SCALE, else at 1:1 with a drawn face. */
function documentFront(photo: RgbImage | null): (x: number, y: number) => Rgb {
  if (!photo) return documentPage;
  const { left, top, width, height } = PHOTO_BOX;
  return (x, y) => {
    const u = x / PHOTO_SCALE;
    const v = y / PHOTO_SCALE;
    if (!inBox(u, v, left, top, width, height)) return documentPage(Math.floor(u), Math.floor(v));
    const px = Math.floor(((u - left) / width) * photo.width);
    const py = Math.floor(((v - top) / height) * photo.height);
    const at = (py * photo.width + px) * 3;
    return [photo.data[at] ?? 0, photo.data[at + 1] ?? 0, photo.data[at + 2] ?? 0];
  };
}

function documentPage(x: number, y: number): Rgb {
  if (y < 28) return [24, 56, 110];
  if (inBox(x, y, PHOTO_BOX.left, PHOTO_BOX.top, PHOTO_BOX.width, PHOTO_BOX.height)) return inBox(x, y, 36, 60, 40, 52) ? [196, 170, 150] : [150, 160, 175];
  const textLine = [52, 76, 100, 124].some((top) => inBox(x, y, 112, top, 120 + ((top * 7) % 70), 8));
  const mrzLine = [160, 178].some((top) => inBox(x, y, 12, top, 296, 10) && x % 7 < 5);
  if (textLine || mrzLine) return [40, 40, 50];
  return [226, 234, 244];
}

function documentBack(x: number, y: number): Rgb {
  if (inBox(x, y, 20, 30, 280, 60)) return (x * 13) % 11 < 5 ? [30, 30, 30] : [250, 250, 250];
  return [212, 218, 226];
}

function selfie(x: number, y: number): number {
  const face = ((x - 48) / 30) ** 2 + ((y - 60) / 40) ** 2 <= 1;
  const eye = [36, 60].some((cx) => Math.abs(x - cx) < 6 && Math.abs(y - 52) < 4);
  if (eye) return 40;
  if (face) return Math.abs(x - 48) < 12 && Math.abs(y - 84) < 3 ? 90 : 200;
  return y > 104 ? 70 : 130;
}

/** PNG, 8-bit RGB, no interlace. */
function encodePng(width: number, height: number, pixel: (x: number, y: number) => Rgb): Buffer {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const rowStart = y * (width * 3 + 1); // the leading byte of each row is filter type 0 (none)
    for (let x = 0; x < width; x++) rows.set(pixel(x, y), rowStart + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(rows)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/**
 * Baseline grayscale JPEG in which every 8×8 block is flat: only DC coefficients are coded (each block ends with
 * EOB right away), which keeps the encoder tiny while the file stays a standard JPEG any decoder reads.
 */
function encodeGrayJpeg(width: number, height: number, gray: (x: number, y: number) => number): Buffer {
  if (width % 8 || height % 8) throw new RangeError('JPEG sample dimensions must be multiples of 8');
  const segment = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const bits = new BitWriter();
  let previous = 0;
  for (let by = 0; by < height / 8; by++) {
    for (let bx = 0; bx < width / 8; bx++) {
      // With a quantisation table of ones, the DC coefficient of a flat block of value v is 8 × (v − 128).
      const dc = 8 * (Math.round(gray(bx * 8 + 4, by * 8 + 4)) - 128);
      const diff = dc - previous;
      previous = dc;
      const category = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      const [code, length] = DC_CODES[category]!;
      bits.write(code, length);
      if (category) bits.write(diff > 0 ? diff : diff + (1 << category) - 1, category);
      bits.write(0, 1); // EOB: the only AC symbol, coded as a single 0 bit
    }
  }
  return Buffer.from([
    0xff,
    0xd8,
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    ...segment(0xdb, [0, ...new Array<number>(64).fill(1)]),
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]),
    ...segment(0xc4, [0x00, ...DC_BITS, ...DC_CODES.map((_, symbol) => symbol)]),
    ...segment(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0x00]),
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]),
    ...bits.finish(),
    0xff,
    0xd9,
  ]);
}

/** The standard luminance DC table (ITU T.81 Annex K.3): code counts per length 1–16, symbols 0–11. */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CODES: [number, number][] = (() => {
  const codes: [number, number][] = [];
  let code = 0;
  DC_BITS.forEach((count, index) => {
    for (let i = 0; i < count; i++) codes.push([code++, index + 1]);
    code <<= 1;
  });
  return codes;
})();

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.current = (this.current << 1) | ((value >> i) & 1);
      if (++this.used === 8) this.flush();
    }
  }

  /** Pads the last byte with 1 bits, as T.81 requires. */
  finish(): number[] {
    while (this.used !== 0) this.write(1, 1);
    return this.bytes;
  }

  private flush(): void {
    this.bytes.push(this.current);
    if (this.current === 0xff) this.bytes.push(0x00); // byte stuffing: 0xFF in entropy-coded data is followed by 0x00
    this.current = 0;
    this.used = 0;
  }
}
