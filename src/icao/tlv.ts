/**
 * BER-TLV as used by the ICAO LDS (ISO/IEC 7816-4 style): tags of one to three bytes, definite lengths only.
 *
 * Every read is bounds-checked against the enclosing value, lengths are limited to four bytes, and the
 * tree walk stops at `maxDepth`, so neither a lying length byte nor a deeply nested input can make us read
 * out of range, allocate without limit or overflow the stack.
 */
import { readBerHeader, type DefiniteBerHeader } from './ber.js';
import { IcaoFormatError } from './errors.js';

export interface Tlv {
  /** The tag bytes read as one big-endian number, e.g. 0x5F1F or 0x7F61. */
  tag: number;
  constructed: boolean;
  /** The value bytes (a view into the input, not a copy). */
  value: Buffer;
  /** The whole encoding: tag, length and value. */
  raw: Buffer;
}

export interface TlvNode extends Tlv {
  /** Present for constructed tags: the TLVs inside the value. */
  children?: TlvNode[];
}

export const DEFAULT_MAX_DEPTH = 16;

/** The LDS rules: tags of one to three bytes, never a padding byte first, definite lengths only. */
const LDS_RULES = { maxTagBytes: 3, refusePaddingTag: true, allowIndefinite: false } as const;

/** Reads the TLV that starts at `offset`, not looking past `end`. */
export function readTlv(buf: Buffer, offset = 0, end = buf.length): Tlv {
  const h: DefiniteBerHeader = readBerHeader(buf, offset, end, LDS_RULES, 'TLV');
  return {
    tag: h.tag,
    constructed: h.constructed,
    value: buf.subarray(h.valueStart, h.valueEnd),
    raw: buf.subarray(offset, h.valueEnd),
  };
}

/** Reads a consecutive list of TLVs that must exactly fill `buf`. */
export function readTlvList(buf: Buffer): Tlv[] {
  const list: Tlv[] = [];
  for (let offset = 0; offset < buf.length; ) {
    const tlv = readTlv(buf, offset);
    list.push(tlv);
    offset += tlv.raw.length;
  }
  return list;
}

/**
 * Reads a whole file that must be exactly one TLV with the expected tag (LDS files start with their
 * outer tag, e.g. 0x61 for DG1 and 0x77 for EF.SOD). Trailing bytes are rejected: a hash covers the
 * whole file, so anything after the TLV is unexplained data.
 */
export function readFileTlv(buf: Buffer, expectedTag: number, what: string): Tlv {
  const tlv = readTlv(buf);
  if (tlv.tag !== expectedTag) {
    throw new IcaoFormatError('UNEXPECTED_TAG', `${what}: tag 0x${tlv.tag.toString(16)}, expected 0x${expectedTag.toString(16)}`);
  }
  if (tlv.raw.length !== buf.length) {
    throw new IcaoFormatError('TRAILING_BYTES', `${what}: ${buf.length - tlv.raw.length} bytes after the TLV`);
  }
  return tlv;
}

/** Decodes `buf` into a tree, descending into constructed values up to `maxDepth` levels. */
export function decodeTlvTree(buf: Buffer, maxDepth = DEFAULT_MAX_DEPTH): TlvNode[] {
  return decodeLevel(buf, maxDepth, 1);
}

function decodeLevel(buf: Buffer, maxDepth: number, depth: number): TlvNode[] {
  if (depth > maxDepth) throw new IcaoFormatError('TOO_DEEP', `TLV nesting deeper than ${maxDepth}`);
  return readTlvList(buf).map((tlv) => (tlv.constructed ? { ...tlv, children: decodeLevel(tlv.value, maxDepth, depth + 1) } : tlv));
}

/** First direct child with the given tag. */
export function findTlv(nodes: readonly Tlv[], tag: number): Tlv | undefined {
  return nodes.find((n) => n.tag === tag);
}

/** Encodes a tag number as its big-endian bytes (0x5F1F → 5F 1F). */
export function encodeTag(tag: number): Buffer {
  if (!isValidTag(tag)) throw new RangeError(`0x${tag.toString(16)} is not a valid BER tag`);
  if (tag <= 0xff) return Buffer.from([tag]);
  if (tag <= 0xffff) return Buffer.from([tag >> 8, tag & 0xff]);
  return Buffer.from([tag >> 16, (tag >> 8) & 0xff, tag & 0xff]);
}

/** True when `tag` reads back as itself: multi-byte tags need the 0x1F marker and correct continuation bits. */
export function isValidTag(tag: number): boolean {
  if (!Number.isInteger(tag) || tag <= 0 || tag > 0xffffff) return false;
  const bytes = tag <= 0xff ? [tag] : tag <= 0xffff ? [tag >> 8, tag & 0xff] : [tag >> 16, (tag >> 8) & 0xff, tag & 0xff];
  const [first, ...rest] = bytes as [number, ...number[]];
  if (first === 0x00 || first === 0xff) return false;
  const highForm = (first & 0x1f) === 0x1f;
  if (!highForm) return rest.length === 0;
  if (rest.length === 0) return false;
  // Every subsequent byte but the last has bit 8 set.
  return rest.every((b, i) => ((b & 0x80) !== 0) === i < rest.length - 1);
}

/** Shortest definite length: one byte below 0x80, else 0x81..0x84 followed by the big-endian length. */
export function encodeLength(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new RangeError(`length ${length} out of range`);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function encodeTlv(tag: number, value: Uint8Array): Buffer {
  return Buffer.concat([encodeTag(tag), encodeLength(value.length), value]);
}
