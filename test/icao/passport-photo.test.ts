import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { readBerHeader } from '../../src/icao/ber.js';
import { registerPassportCommands } from '../../src/testing/passports/cli.js';
import { preparePhoto } from '../../src/testing/passports/photo.js';
import { SAMPLE_FACE_JPEG } from '../../src/testing/passports/sample-face.js';
import { sampleImages } from '../../src/testing/media/sample-images.js';
import { passport, verify } from './helpers.js';
import { runCommands } from '../support/commands.js';

const { 'selfie.jpg': selfieJpeg, 'document-front.png': documentPng } = sampleImages();

/** A few lines of BER walking, enough to check the DG2 layout (the real DG2 parser lives in src/icao). */
interface Element {
  tag: number;
  value: Buffer;
}
const LDS = { maxTagBytes: 3, refusePaddingTag: true, allowIndefinite: false } as const;
function elements(bytes: Buffer): Element[] {
  const list: Element[] = [];
  for (let at = 0; at < bytes.length; ) {
    const h = readBerHeader(bytes, at, bytes.length, LDS, 'DG2 test');
    list.push({ tag: h.tag, value: bytes.subarray(h.valueStart, h.valueEnd) });
    at = h.valueEnd;
  }
  return list;
}
const only = (bytes: Buffer) => {
  const list = elements(bytes);
  expect(list).toHaveLength(1);
  return list[0] as Element;
};
const byTag = (list: Element[]) => new Map(list.map((e) => [e.tag, e.value]));

/** The ISO/IEC 19794-5 facial record inside a DG2, field by field. */
function facialRecord(dg2: Buffer) {
  const outer = only(dg2);
  expect(outer.tag).toBe(0x75);
  const group = only(outer.value);
  expect(group.tag).toBe(0x7f61);
  const [count, template, ...rest] = elements(group.value);
  expect(rest).toHaveLength(0);
  expect(count).toEqual({ tag: 0x02, value: Buffer.from([1]) });
  expect(template?.tag).toBe(0x7f60);
  const [header, data] = elements(template!.value);
  expect(header?.tag).toBe(0xa1);
  expect(data?.tag).toBe(0x5f2e);
  const cbeff = byTag(elements(header!.value));
  const r = data!.value;
  return {
    cbeff,
    formatIdentifier: r.subarray(0, 4).toString('latin1'),
    version: r.subarray(4, 8).toString('latin1'),
    recordLength: r.readUInt32BE(8),
    faces: r.readUInt16BE(12),
    blockLength: r.readUInt32BE(14),
    featurePoints: r.readUInt16BE(18),
    gender: r.readUInt8(20),
    faceImageType: r.readUInt8(34),
    imageDataType: r.readUInt8(35),
    width: r.readUInt16BE(36),
    height: r.readUInt16BE(38),
    colourSpace: r.readUInt8(40),
    image: r.subarray(46),
    total: r.length,
  };
}

/** Decodes a JPEG 2000 image with OpenJPEG (its decoder this time) and tells its size. */
async function jpeg2000Size(image: Buffer): Promise<{ width: number; height: number; componentCount: number }> {
  type Decoder = { getEncodedBuffer(n: number): Uint8Array; decode(): void; getFrameInfo(): { width: number; height: number; componentCount: number } };
  const factory = createRequire(import.meta.url)('@cornerstonejs/codec-openjpeg') as (o: object) => Promise<{ J2KDecoder: new () => Decoder }>;
  const decoder = new (await factory({ print: () => undefined, printErr: () => undefined })).J2KDecoder();
  decoder.getEncodedBuffer(image.length).set(image);
  decoder.decode();
  const { width, height, componentCount } = decoder.getFrameInfo();
  return { width, height, componentCount };
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'faces');
const JP2_SIGNATURE = Buffer.from('0000000c6a5020200d0a870a', 'hex');
const J2K_SOC_SIZ = Buffer.from('ff4fff51', 'hex');

describe('synthetic passports with a real photo in DG2', () => {
  it('writes a JPEG photo as it came into an ISO/IEC 19794-5 record under the CBEFF header, and passive authentication passes', async () => {
    const photo = await preparePhoto(selfieJpeg);
    const now = new Date('2026-03-04T05:06:07Z');
    const doc = passport({ photo, gender: 'M', expiry: '2031-03-03', now, aaKey: 'none' });
    const record = facialRecord(doc.files['EF_DG2.bin']);
    expect(record).toMatchObject({ formatIdentifier: 'FAC\0', version: '010\0', faces: 1, featurePoints: 0, gender: 1 });
    expect(record).toMatchObject({ faceImageType: 1, imageDataType: 0, width: 96, height: 128, colourSpace: 1 });
    expect(record.recordLength).toBe(record.total);
    expect(record.blockLength).toBe(record.total - 14);
    expect(record.image.equals(selfieJpeg)).toBe(true);

    expect(record.cbeff.get(0x80)?.toString('hex')).toBe('0101');
    expect(record.cbeff.get(0x81)?.toString('hex')).toBe('02');
    expect(record.cbeff.get(0x83)?.toString('hex')).toBe('20260304050607');
    expect(record.cbeff.get(0x85)?.toString('hex')).toBe('2026030420310303');
    expect(record.cbeff.get(0x86)).toHaveLength(2);
    expect(record.cbeff.get(0x87)?.toString('hex')).toBe('0101');
    expect(record.cbeff.get(0x88)?.toString('hex')).toBe('0008');

    const result = verify(doc, { now });
    expect(result.checks.sodSignature.status).toBe('SUCCEEDED');
    expect(result.checks.dataGroupHashes.status).toBe('SUCCEEDED');
    expect(result.verdict).toBe('accepted');
  });

  it('records the true size of the built-in sample face when no photo is given', () => {
    const record = facialRecord(passport({ aaKey: 'none' }).files['EF_DG2.bin']);
    const decoded = jpeg.decode(SAMPLE_FACE_JPEG);
    expect(record).toMatchObject({ imageDataType: 0, width: decoded.width, height: decoded.height });
    expect(record.image.equals(SAMPLE_FACE_JPEG)).toBe(true);
  });

  it('re-encodes a PNG as a JPEG of the same size', async () => {
    const photo = await preparePhoto(documentPng, 'jpeg');
    const record = facialRecord(passport({ photo, aaKey: 'none' }).files['EF_DG2.bin']);
    expect(record).toMatchObject({ imageDataType: 0, width: 320, height: 200, gender: 2 });
    const decoded = jpeg.decode(record.image);
    expect([decoded.width, decoded.height]).toEqual([320, 200]);
  });

  it('stores a JPEG 2000 codestream (image data type 1) that still verifies, and catches it tampered', async () => {
    const photo = await preparePhoto(selfieJpeg, 'jpeg2000');
    const doc = passport({ photo, aaKey: 'none' });
    const record = facialRecord(doc.files['EF_DG2.bin']);
    expect(record).toMatchObject({ imageDataType: 1, width: 96, height: 128 });
    const start = record.image.subarray(0, 12);
    expect(start.equals(JP2_SIGNATURE) || start.subarray(0, 4).equals(J2K_SOC_SIZ)).toBe(true);
    expect(record.image.subarray(-2).toString('hex')).toBe('ffd9'); // EOC marker: a complete codestream
    expect(await jpeg2000Size(record.image)).toEqual({ width: 96, height: 128, componentCount: 3 });
    expect(verify(doc).verdict).toBe('accepted');

    const tampered = passport({ photo, aaKey: 'none', variant: 'tampered-dg2' });
    expect(verify(tampered).checks.dataGroupHashes.status).toBe('FAILED');
  });

  it('embeds JPEG 2000 made by another encoder (opj_compress fixtures, JP2 container and raw codestream)', async () => {
    for (const [file, signature] of [
      ['face.jp2', JP2_SIGNATURE],
      ['face.j2k', J2K_SOC_SIZ],
    ] as const) {
      const image = await readFile(join(FIXTURES, file));
      expect(image.subarray(0, signature.length).equals(signature)).toBe(true);
      expect(image.length).toBeLessThanOrEqual(20 * 1024);
      expect(await jpeg2000Size(image)).toEqual({ width: 240, height: 320, componentCount: 3 });
      const doc = passport({ photo: { format: 'jpeg2000', data: image, width: 240, height: 320 }, aaKey: 'none' });
      const record = facialRecord(doc.files['EF_DG2.bin']);
      expect(record).toMatchObject({ imageDataType: 1, width: 240, height: 320 });
      expect(record.image.equals(image)).toBe(true);
      expect(verify(doc).verdict).toBe('accepted');
    }
  });

  it('refuses what is not a JPEG or PNG, and a broken JPEG, with a clear message', async () => {
    await expect(preparePhoto(Buffer.from('GIF89a not a photo'))).rejects.toThrow(/must be a JPEG or PNG/);
    await expect(preparePhoto(selfieJpeg.subarray(0, 200), 'jpeg2000')).rejects.toThrow(/not a readable JPEG/);
    await expect(preparePhoto(documentPng.subarray(0, 60))).rejects.toThrow(/not a readable PNG/);
  });
});

describe('passport generate --photo', () => {
  const run = (...args: string[]) => runCommands(registerPassportCommands, args);

  it('writes the photo into DG2 as JPEG 2000, and refuses unreadable files and unknown formats', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passport-photo-'));
    const png = join(dir, 'face.png');
    await writeFile(png, documentPng);
    const ok = await run('passport', 'generate', '--out', join(dir, 'doc'), '--photo', png, '--photo-format', 'jpeg2000', '--aa-key', 'none');
    expect(ok.error).toBeUndefined();
    expect(ok.out).not.toContain('[INFO]');
    const record = facialRecord(await readFile(join(dir, 'doc', 'EF_DG2.bin')));
    expect(record).toMatchObject({ imageDataType: 1, width: 320, height: 200 });

    const missing = await run('passport', 'generate', '--out', join(dir, 'x'), '--photo', join(dir, 'nope.jpg'));
    expect(missing.error).toMatchObject({ exitCode: 2, message: expect.stringMatching(/cannot read the photo .*nope\.jpg: ENOENT/) });
    const text = join(dir, 'face.txt');
    await writeFile(text, 'hello');
    const notImage = await run('passport', 'generate', '--out', join(dir, 'y'), '--photo', text);
    expect(notImage.error).toMatchObject({ exitCode: 2, message: expect.stringMatching(/must be a JPEG or PNG/) });
    const badFormat = await run('passport', 'generate', '--out', join(dir, 'z'), '--photo', png, '--photo-format', 'webp');
    expect(badFormat.error?.code).toBe('commander.invalidArgument');
  });
});
