/**
 * EF.DG2 as issuing states write it (ICAO Doc 9303-10 §4.7.2, ISO/IEC 19794-5:2005):
 *
 *   75 { 7F61 { 02 count, 7F60 { A1 biometric header template (CBEFF), 5F2E facial record } } }
 *
 * The facial record: a 14-byte record header, then per face a 20-byte facial information block, the feature
 * points (none here), 12 bytes of image information and the image itself. Test documents only: the reader of
 * real DG2s is src/icao.
 */
import { TAGS } from '../../icao/lds.js';
import type { Sex } from '../../icao/mrz.js';
import { encodeTlv } from '../../icao/tlv.js';
import type { DocumentPhoto } from './photo.js';

export interface FaceDg2Options {
  /** The holder's sex as printed in the MRZ. */
  sex: Sex;
  /** When the biometric data was captured (CBEFF creation date). */
  createdAt: Date;
  /** End of the CBEFF validity period: the document's expiry. */
  validUntil: Date;
}

/** ISO/IEC 19794-5 gender codes: 0 unspecified, 1 male, 2 female. */
const GENDER: Record<string, number> = { M: 1, F: 2 };
/** Image data type: 0 JPEG, 1 JPEG 2000. */
const IMAGE_DATA_TYPE = { jpeg: 0, jpeg2000: 1 } as const;
const FACE_IMAGE_TYPE_FULL_FRONTAL = 1;
const COLOUR_SPACE_RGB24 = 1;
const SOURCE_TYPE_DIGITAL_STILL = 2;

const RECORD_HEADER_BYTES = 14;
const FACIAL_INFORMATION_BYTES = 20;
const IMAGE_INFORMATION_BYTES = 12;

export function buildFaceDg2(photo: DocumentPhoto, options: FaceDg2Options): Buffer {
  const template = encodeTlv(TAGS.BIOMETRIC_TEMPLATE, Buffer.concat([biometricHeader(options), encodeTlv(TAGS.BIOMETRIC_DATA, facialRecord(photo, options))]));
  const instanceCount = encodeTlv(0x02, Buffer.from([1]));
  return encodeTlv(TAGS.DG2, encodeTlv(TAGS.BIOMETRIC_GROUP, Buffer.concat([instanceCount, template])));
}

/** The CBEFF biometric header template (Doc 9303-10 table 37). */
function biometricHeader({ createdAt, validUntil }: FaceDg2Options): Buffer {
  return encodeTlv(
    TAGS.BIOMETRIC_HEADER,
    Buffer.concat([
      encodeTlv(0x80, Buffer.from([0x01, 0x01])), // ICAO header version 1.1
      encodeTlv(0x81, Buffer.from([0x02])), // biometric type: facial features
      encodeTlv(0x83, bcd(dateDigits(createdAt, true))), // creation date and time, CCYYMMDDhhmmss
      encodeTlv(0x85, bcd(dateDigits(createdAt, false) + dateDigits(validUntil, false))), // validity period, from and to CCYYMMDD
      encodeTlv(0x86, Buffer.from([0x00, 0x00])), // creator (product identifier): none registered for a test generator
      encodeTlv(0x87, Buffer.from([0x01, 0x01])), // format owner: ISO/IEC JTC 1/SC 37
      encodeTlv(0x88, Buffer.from([0x00, 0x08])), // format type: face image (ISO/IEC 19794-5)
    ]),
  );
}

function facialRecord(photo: DocumentPhoto, { sex }: FaceDg2Options): Buffer {
  const blockLength = FACIAL_INFORMATION_BYTES + IMAGE_INFORMATION_BYTES + photo.data.length;
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header.write('FAC\u0000010\u0000', 0, 'latin1'); // format identifier and version
  header.writeUInt32BE(RECORD_HEADER_BYTES + blockLength, 8);
  header.writeUInt16BE(1, 12); // number of facial images

  // Facial information; all-zero fields say "unspecified": no feature points, eye and hair colour, feature
  // mask, expression, pose angles and their uncertainty.
  const face = Buffer.alloc(FACIAL_INFORMATION_BYTES);
  face.writeUInt32BE(blockLength, 0);
  face.writeUInt16BE(0, 4); // number of feature points
  face.writeUInt8(GENDER[sex] ?? 0, 6);

  const image = Buffer.alloc(IMAGE_INFORMATION_BYTES); // device type and quality stay 0: unspecified
  image.writeUInt8(FACE_IMAGE_TYPE_FULL_FRONTAL, 0);
  image.writeUInt8(IMAGE_DATA_TYPE[photo.format], 1);
  image.writeUInt16BE(photo.width, 2);
  image.writeUInt16BE(photo.height, 4);
  image.writeUInt8(COLOUR_SPACE_RGB24, 6);
  image.writeUInt8(SOURCE_TYPE_DIGITAL_STILL, 7);
  return Buffer.concat([header, face, image, photo.data]);
}

/** CCYYMMDD, and hhmmss after it when `withTime`, in UTC. */
function dateDigits(date: Date, withTime: boolean): string {
  const iso = date.toISOString(); // 2026-12-01T07:36:12.000Z
  return iso.slice(0, 10).replaceAll('-', '') + (withTime ? iso.slice(11, 19).replaceAll(':', '') : '');
}

/** Packs decimal digits two to a byte (binary-coded decimal), as CBEFF dates are written. */
function bcd(digits: string): Buffer {
  return Buffer.from(digits, 'hex');
}

/**
 * A DG2 around any bytes, declared as JPEG or JPEG 2000, for tests of the reader: the bytes need not be a real image
 * (tests check how the reader treats a record that lies about its content).
 */
export function faceDg2Of(data: Buffer, format: DocumentPhoto['format'] = 'jpeg', size = { width: 16, height: 16 }): Buffer {
  const epoch = new Date(0);
  return buildFaceDg2({ data, format, ...size }, { sex: 'X', createdAt: epoch, validUntil: epoch });
}
