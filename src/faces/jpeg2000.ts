/**
 * JPEG 2000 through OpenJPEG compiled to WebAssembly (@cornerstonejs/codec-openjpeg): the JP2 container and the raw
 * J2K codestream, the two forms passport chips store their DG2 face in. The module is instantiated once per thread
 * (it is synchronous once ready) and its console output is silenced: it prints `[INFO]` lines for every image.
 */
import { createRequire } from 'node:module';
import { FaceImageError } from './errors.js';

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
  isUsingColorTransform?: boolean;
}

interface OpenJpegModule {
  J2KDecoder: new () => {
    getEncodedBuffer(length: number): Uint8Array;
    decode(): void;
    getFrameInfo(): FrameInfo;
    getDecodedBuffer(): Uint8Array;
    delete(): void;
  };
  J2KEncoder: new () => {
    getDecodedBuffer(frame: FrameInfo): Uint8Array;
    setQuality(lossless: boolean, quality: number): void;
    setCompressionRatio(layer: number, ratio: number): void;
    encode(): void;
    getEncodedBuffer(): Uint8Array;
    delete(): void;
  };
}

const require = createRequire(import.meta.url);
let codec: Promise<OpenJpegModule> | undefined;

function openJpeg(): Promise<OpenJpegModule> {
  if (!codec) {
    const factory = require('@cornerstonejs/codec-openjpeg/wasmjs') as (options: object) => Promise<OpenJpegModule>;
    codec = factory({ print: () => undefined, printErr: () => undefined });
  }
  return codec;
}

/** Where a JP2 file's codestream starts (its `jp2c` box), or 0 for a raw codestream; -1 when neither. */
export function codestreamOffset(bytes: Uint8Array): number {
  if (bytes[0] === 0xff && bytes[1] === 0x4f && bytes[2] === 0xff && bytes[3] === 0x51) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // JP2 is a sequence of boxes: 4-byte length (1 = 8-byte length follows, 0 = to the end), 4-byte type.
  let at = 0;
  for (let boxes = 0; at + 8 <= bytes.length && boxes < 64; boxes++) {
    let length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    let header = 8;
    if (length === 1) {
      if (at + 16 > bytes.length || view.getUint32(at + 8) !== 0) return -1;
      length = view.getUint32(at + 12);
      header = 16;
    } else if (length === 0) length = bytes.length - at;
    if (type === 'jp2c') return at + header;
    if (length < header) return -1;
    at += length;
  }
  return -1;
}

/** Width and height from the codestream's SIZ marker, read before decoding so that a hostile size is refused first. */
export function jpeg2000Size(bytes: Uint8Array): { width: number; height: number } {
  const start = codestreamOffset(bytes);
  if (start < 0 || start + 4 + 2 + 2 + 16 > bytes.length || bytes[start] !== 0xff || bytes[start + 1] !== 0x4f || bytes[start + 3] !== 0x51) {
    throw new FaceImageError('the JPEG 2000 image has no readable codestream header');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, bytes.byteLength - start);
  // SOC (2), SIZ marker (2), Lsiz (2), Rsiz (2), then Xsiz, Ysiz, XOsiz, YOsiz.
  const width = view.getUint32(8) - view.getUint32(16);
  const height = view.getUint32(12) - view.getUint32(20);
  return { width, height };
}

/**
 * Decodes a JP2 or J2K image to 8-bit samples, interleaved, with 1 (grey) or 3+ (colour) components. This build's
 * decoder reads codestreams only, so a JP2 file is given its `jp2c` box (its colour boxes name sRGB or greyscale for
 * face photos, which the codestream's own component transform already yields).
 */
export async function decodeJpeg2000(file: Uint8Array): Promise<{ width: number; height: number; components: number; data: Uint8Array }> {
  const start = codestreamOffset(file);
  if (start < 0) throw new FaceImageError('the JPEG 2000 file has no codestream');
  const bytes = file.subarray(start);
  const oj = await openJpeg();
  const decoder = new oj.J2KDecoder();
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    try {
      decoder.decode();
    } catch {
      throw new FaceImageError('the JPEG 2000 image could not be decoded');
    }
    const frame = decoder.getFrameInfo();
    if (frame.bitsPerSample < 1 || frame.bitsPerSample > 16 || frame.componentCount < 1)
      throw new FaceImageError('the JPEG 2000 image has an unsupported sample format');
    const decoded = decoder.getDecodedBuffer();
    return { width: frame.width, height: frame.height, components: frame.componentCount, data: toEightBit(decoded, frame) };
  } finally {
    decoder.delete();
  }
}

/** Samples above 8 bits arrive as 16-bit little-endian words; faces need no more than 8. */
function toEightBit(decoded: Uint8Array, frame: FrameInfo): Uint8Array {
  if (frame.bitsPerSample <= 8) return Uint8Array.from(decoded);
  const samples = new Uint16Array(decoded.buffer, decoded.byteOffset, decoded.byteLength / 2);
  const shift = frame.bitsPerSample - 8;
  return Uint8Array.from(samples, (v) => v >> shift);
}

/** Encodes RGB pixels as a raw J2K codestream, lossy at `ratio`:1 (test sets and fixtures; chips are read, not written). */
export async function encodeJpeg2000(rgb: { width: number; height: number; data: Uint8Array }, ratio = 20): Promise<Buffer> {
  const oj = await openJpeg();
  const encoder = new oj.J2KEncoder();
  try {
    encoder
      .getDecodedBuffer({ width: rgb.width, height: rgb.height, bitsPerSample: 8, componentCount: 3, isSigned: false, isUsingColorTransform: true })
      .set(rgb.data);
    encoder.setQuality(false, 0);
    encoder.setCompressionRatio(0, ratio);
    encoder.encode();
    return Buffer.from(encoder.getEncodedBuffer());
  } finally {
    encoder.delete();
  }
}
