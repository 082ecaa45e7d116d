import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/faces/image.js';
import { isDg2, parseDg2Face, parseDg2Faces } from '../../src/icao/dg2.js';
import { IcaoFormatError } from '../../src/icao/errors.js';
import { faceDg2Of } from '../../src/testing/passports/face-dg2.js';
import { encodeTlv } from '../../src/icao/tlv.js';
import { samplePeople } from '../../src/testing/faces/index.js';

/** Written by OpenJPEG's opj_compress (fixtures/README.md). */
const OPJ_JP2 = readFileSync(new URL('./fixtures/person-01-opj.jp2', import.meta.url));
const OPJ_J2K = readFileSync(new URL('./fixtures/person-01-opj.j2k', import.meta.url));
// Built once per process (decoding the demo photos takes a few seconds), outside any test's time limit.
const people = await samplePeople();

const context = (tag: number, value: Uint8Array, constructed = false) => encodeTlv((constructed ? 0xa0 : 0x80) + tag, value);
const integer = (n: number) => Buffer.from(n < 256 ? [n] : [n >> 8, n & 0xff]);

/**
 * An ISO/IEC 39794-5 FaceImageDataBlock: versionBlock [0], representationBlocks [1] { RepresentationBlock {
 * representationId [0], imageRepresentation [1] { base [0] { ImageRepresentation2DBlock [0] { representationData2D [0],
 * imageInformation2DBlock [1] { imageDataFormat [0], imageSizeBlock [7] } } } } } }.
 */
function faceImageDataBlock(image: Buffer, size = { width: 240, height: 320 }): Buffer {
  const information = context(
    1,
    Buffer.concat([
      context(0, context(0, Buffer.from([2])), true),
      context(7, Buffer.concat([context(0, integer(size.width)), context(1, integer(size.height))]), true),
    ]),
    true,
  );
  const representation2D = context(0, Buffer.concat([context(0, image), information]), true);
  const representation = encodeTlv(0x30, Buffer.concat([context(0, integer(1)), context(1, context(0, representation2D, true), true)]));
  const version = context(0, Buffer.concat([context(0, integer(1)), context(1, integer(2019))]), true);
  return Buffer.concat([version, context(1, representation, true)]);
}

/** DG2 with a 39794-5 block: in a constructed 7F2E (its elements inline), or in a primitive 5F2E wrapped in [APPLICATION 5]. */
function dg2With39794(image: Buffer, form: '7F2E' | '5F2E'): Buffer {
  const content = faceImageDataBlock(image);
  const block = form === '7F2E' ? encodeTlv(0x7f2e, content) : encodeTlv(0x5f2e, encodeTlv(0x65, content));
  const header = encodeTlv(0xa1, encodeTlv(0x81, Buffer.from([0x02])));
  return encodeTlv(0x75, encodeTlv(0x7f61, Buffer.concat([encodeTlv(0x02, Buffer.from([1])), encodeTlv(0x7f60, Buffer.concat([header, block]))])));
}

describe('EF.DG2 face records', () => {
  it('reads an ISO/IEC 19794-5 record holding a JPEG', async () => {
    const [person] = people;
    const dg2 = faceDg2Of(person!.documentPhoto, 'jpeg', { width: 240, height: 320 });
    expect(isDg2(dg2)).toBe(true);
    expect(isDg2(person!.documentPhoto)).toBe(false);
    const face = parseDg2Face(dg2);
    expect(face).toMatchObject({ standard: 'ISO/IEC 19794-5', format: 'jpeg', width: 240, height: 320 });
    expect(face.image.equals(person!.documentPhoto)).toBe(true);
  });

  it('reads an ISO/IEC 19794-5 record holding a JPEG 2000 written by OpenJPEG, and the image decodes', async () => {
    for (const [encoded, format] of [
      [OPJ_JP2, 'jp2'],
      [OPJ_J2K, 'j2k'],
    ] as const) {
      const face = parseDg2Face(faceDg2Of(encoded, 'jpeg2000', { width: 240, height: 320 }));
      expect(face).toMatchObject({ standard: 'ISO/IEC 19794-5', format });
      const image = await decodeImage(face.image);
      expect([image.width, image.height]).toEqual([240, 320]);
    }
  });

  it('reads an ISO/IEC 39794-5 block, constructed (7F2E) or primitive (5F2E)', async () => {
    for (const form of ['7F2E', '5F2E'] as const) {
      const face = parseDg2Face(dg2With39794(OPJ_JP2, form));
      expect(face).toMatchObject({ standard: 'ISO/IEC 39794-5', format: 'jp2', width: 240, height: 320 });
      expect(face.image.equals(OPJ_JP2)).toBe(true);
      const image = await decodeImage(face.image);
      expect(image.width).toBe(240);
    }
  });

  it('reads every image of a 19794-5 record that holds two', async () => {
    const [first, second] = people;
    const one = parseDg2Face(faceDg2Of(first!.documentPhoto)).image;
    // Two facial record data blocks after one record header: rebuild the record with the count set to 2.
    const single = faceDg2Of(second!.documentPhoto);
    const record = single.subarray(single.indexOf(Buffer.from('FAC\u0000', 'latin1')));
    const blockLength = record.readUInt32BE(14);
    const block = record.subarray(14, 14 + blockLength);
    const firstRecord = faceDg2Of(first!.documentPhoto);
    const firstBlock = firstRecord.subarray(firstRecord.indexOf(Buffer.from('FAC\u0000', 'latin1')) + 14);
    const header = Buffer.from(record.subarray(0, 14));
    header.writeUInt32BE(14 + firstBlock.length + block.length, 8);
    header.writeUInt16BE(2, 12);
    const twoFaces = Buffer.concat([header, firstBlock, block]);
    const dg2 = encodeTlv(0x75, encodeTlv(0x7f61, Buffer.concat([encodeTlv(0x02, Buffer.from([1])), encodeTlv(0x7f60, encodeTlv(0x5f2e, twoFaces))])));
    const faces = parseDg2Faces(dg2);
    expect(faces).toHaveLength(2);
    expect(faces[0]?.image.equals(one)).toBe(true);
    expect(faces[1]?.image.equals(second!.documentPhoto)).toBe(true);
  });

  it('refuses records whose claims do not hold, with a format error', async () => {
    const [person] = people;
    const jpeg = person!.documentPhoto;
    // Declared JPEG 2000, but the image is a JPEG.
    expect(() => parseDg2Face(faceDg2Of(jpeg, 'jpeg2000'))).toThrow(/declared JPEG 2000 but is jpeg/);
    // Another record version.
    const other = faceDg2Of(jpeg);
    other.write('030\u0000', other.indexOf(Buffer.from('FAC\u0000', 'latin1')) + 4, 'latin1');
    expect(() => parseDg2Face(other)).toThrow(/version "030" is not supported/);
    // A block length past the record.
    const lying = faceDg2Of(jpeg);
    lying.writeUInt32BE(0x7fffffff, lying.indexOf(Buffer.from('FAC\u0000', 'latin1')) + 14);
    expect(() => parseDg2Face(lying)).toThrow(IcaoFormatError);
    // A 39794-5 block without an image.
    expect(() => parseDg2Face(dg2With39794(Buffer.from('not an image'), '7F2E'))).toThrow(/no 2D image representation/);
    // Not a DG2 at all.
    expect(() => parseDg2Face(jpeg)).toThrow(IcaoFormatError);
  });

  it('never crashes on mutated or truncated input: it parses or throws IcaoFormatError', async () => {
    const [person] = people;
    const seeds = [faceDg2Of(person!.documentPhoto.subarray(0, 400)), dg2With39794(OPJ_J2K.subarray(0, 300), '7F2E')];
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (seed, edits, cut) => {
        const bytes = Buffer.from(seed);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        try {
          parseDg2Faces(bytes.subarray(0, bytes.length - (cut % 64)));
        } catch (error) {
          if (!(error instanceof IcaoFormatError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });
});
