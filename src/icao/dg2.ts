/**
 * EF.DG2, the encoded face: `75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E | 7F2E biometric data block }… } }`, and
 * the facial record inside each data block, in either of its two standards:
 * - ISO/IEC 19794-5:2005 (binary, `FAC\0` `010\0`): a record header, then per image a facial information block,
 *   its feature points, an image information block (image data type 0 = JPEG, 1 = JPEG 2000) and the image;
 * - ISO/IEC 39794-5 (BER, the newer chips): `ImageRepresentation2DBlock { representationData2D [0] OCTET STRING,
 *   imageInformation2DBlock [1] { imageDataFormat [0] … } }`, found wherever it sits below the block's wrappers.
 *
 * The image format is taken from the image's own signature, and a 19794-5 data type that contradicts it is refused:
 * a header is only a claim. Every length is checked against what encloses it; hostile input gives an
 * IcaoFormatError, never a read out of range.
 */
import { type ImageFormat, sniffImageFormat } from '../faces/image-format.js';
import { checkSize, IcaoFormatError, SIZE_LIMITS } from './errors.js';
import { TAGS } from './lds.js';
import { decodeTlvTree, findTlv, readFileTlv, type TlvNode } from './tlv.js';

export type FacialRecordStandard = 'ISO/IEC 19794-5' | 'ISO/IEC 39794-5';

export interface Dg2Face {
  standard: FacialRecordStandard;
  format: ImageFormat;
  image: Buffer;
  /** Declared in the record; absent when the record does not say. */
  width?: number;
  height?: number;
}

/** DG2 files start with their LDS tag; images never do (JPEG FF D8, PNG 89, JP2 00, J2K FF 4F). */
export const isDg2 = (bytes: Uint8Array): boolean => bytes[0] === TAGS.DG2;

/** Every face image in a DG2, in order (a chip normally holds one). */
export function parseDg2Faces(bytes: Uint8Array): Dg2Face[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkSize(buf, SIZE_LIMITS.dg2, 'DG2');
  const outer = readFileTlv(buf, TAGS.DG2, 'DG2');
  const group = findTlv(decodeTlvTree(outer.value, 16), TAGS.BIOMETRIC_GROUP) as TlvNode | undefined;
  if (!group?.children) throw formatError('DG2 has no biometric information group template (7F61)');
  const faces: Dg2Face[] = [];
  for (const template of group.children.filter((c) => c.tag === TAGS.BIOMETRIC_TEMPLATE)) {
    const block = template.children?.find((c) => c.tag === TAGS.BIOMETRIC_DATA || c.tag === TAGS.BIOMETRIC_DATA_CONSTRUCTED);
    if (!block) throw formatError('DG2 biometric template without a biometric data block (5F2E or 7F2E)');
    faces.push(...parseDataBlock(block));
  }
  if (faces.length === 0) throw formatError('DG2 holds no face image');
  return faces;
}

/** The first face of a DG2: the document photo. */
export function parseDg2Face(bytes: Uint8Array): Dg2Face {
  return parseDg2Faces(bytes)[0] as Dg2Face;
}

function parseDataBlock(block: TlvNode): Dg2Face[] {
  if (block.value.subarray(0, 4).toString('latin1') === 'FAC\u0000') return parse19794(block.value);
  return [parse39794(block.children ?? decodeTlvTree(block.value, 12))];
}

// ISO/IEC 19794-5:2005 -----------------------------------------------------------------------------------

const RECORD_HEADER = 14;
const FACIAL_INFORMATION = 20;
const FEATURE_POINT = 8;
const IMAGE_INFORMATION = 12;

function parse19794(record: Buffer): Dg2Face[] {
  if (record.length < RECORD_HEADER) throw formatError('ISO/IEC 19794-5 record shorter than its header');
  const version = record.subarray(4, 8).toString('latin1');
  if (version !== '010\u0000') throw formatError(`ISO/IEC 19794-5 record version ${JSON.stringify(version.replace(/\0/g, ''))} is not supported (only 010)`);
  const recordLength = record.readUInt32BE(8);
  if (recordLength > record.length || recordLength < RECORD_HEADER) throw formatError('ISO/IEC 19794-5 record length does not match its data block');
  const count = record.readUInt16BE(12);
  if (count === 0) throw formatError('ISO/IEC 19794-5 record holds no image');
  const faces: Dg2Face[] = [];
  let at = RECORD_HEADER;
  for (let i = 0; i < count; i++) {
    const { face, end } = parse19794Image(record, at, recordLength);
    faces.push(face);
    at = end;
  }
  return faces;
}

function parse19794Image(record: Buffer, at: number, recordEnd: number): { face: Dg2Face; end: number } {
  if (at + FACIAL_INFORMATION > recordEnd) throw formatError('ISO/IEC 19794-5 facial information block runs past the record');
  const blockLength = record.readUInt32BE(at);
  const featurePoints = record.readUInt16BE(at + 4);
  const imageInfoAt = at + FACIAL_INFORMATION + featurePoints * FEATURE_POINT;
  const imageAt = imageInfoAt + IMAGE_INFORMATION;
  const end = at + blockLength;
  if (end > recordEnd || imageAt > end) throw formatError('ISO/IEC 19794-5 facial record data block length is inconsistent');
  const dataType = record.readUInt8(imageInfoAt + 1);
  const image = record.subarray(imageAt, end);
  const format = sniffImageFormat(image);
  const declared = dataType === 0 ? 'JPEG' : dataType === 1 ? 'JPEG 2000' : undefined;
  if (!declared) throw formatError(`ISO/IEC 19794-5 image data type ${dataType} is neither JPEG (0) nor JPEG 2000 (1)`);
  const matches = declared === 'JPEG' ? format === 'jpeg' : format === 'jp2' || format === 'j2k';
  if (!format || !matches) throw formatError(`ISO/IEC 19794-5 image is declared ${declared} but is ${format ?? 'not a known image format'}`);
  const face: Dg2Face = {
    standard: 'ISO/IEC 19794-5',
    format,
    image,
    width: record.readUInt16BE(imageInfoAt + 2),
    height: record.readUInt16BE(imageInfoAt + 4),
  };
  return { face, end };
}

// ISO/IEC 39794-5 ----------------------------------------------------------------------------------------

const CONTEXT_0_PRIMITIVE = 0x80;
const CONTEXT_1_CONSTRUCTED = 0xa1;
const CONTEXT_7_CONSTRUCTED = 0xa7;
/** Bounds the search below the data block's wrappers, whatever the input nests. */
const MAX_NODES_VISITED = 512;

function parse39794(nodes: TlvNode[]): Dg2Face {
  const block = findRepresentation2D(nodes, { visited: 0 });
  if (!block) throw formatError('ISO/IEC 39794-5 data block holds no 2D image representation');
  const data = findTlv(block, CONTEXT_0_PRIMITIVE) as TlvNode;
  const format = sniffImageFormat(data.value);
  if (!format) throw formatError('ISO/IEC 39794-5 image is not JPEG, PNG or JPEG 2000');
  const info = findTlv(block, CONTEXT_1_CONSTRUCTED) as TlvNode;
  const size = info.children && (findTlv(info.children, CONTEXT_7_CONSTRUCTED) as TlvNode | undefined);
  return { standard: 'ISO/IEC 39794-5', format, image: data.value, ...(size?.children ? imageSize(size.children) : {}) };
}

/** `ImageRepresentation2DBlock`: the first constructed node with an image in [0] and an information block in [1]. */
function findRepresentation2D(nodes: TlvNode[], budget: { visited: number }): TlvNode[] | undefined {
  const data = findTlv(nodes, CONTEXT_0_PRIMITIVE);
  if (data && findTlv(nodes, CONTEXT_1_CONSTRUCTED) && sniffImageFormat(data.value)) return nodes;
  for (const node of nodes) {
    if (++budget.visited > MAX_NODES_VISITED) throw formatError('ISO/IEC 39794-5 data block is too complex');
    const found = node.children && findRepresentation2D(node.children, budget);
    if (found) return found;
  }
  return undefined;
}

/** `ImageSizeBlock { width [0] INTEGER, height [1] INTEGER }`. */
function imageSize(children: TlvNode[]): { width?: number; height?: number } {
  const integer = (tag: number) => {
    const value = findTlv(children, tag)?.value;
    return value && value.length > 0 && value.length <= 3 ? value.readUIntBE(0, value.length) : undefined;
  };
  const width = integer(0x80);
  const height = integer(0x81);
  return { ...(width !== undefined ? { width } : {}), ...(height !== undefined ? { height } : {}) };
}

function formatError(message: string): IcaoFormatError {
  return new IcaoFormatError('BAD_STRUCTURE', message);
}
