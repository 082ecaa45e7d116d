/**
 * The one reader of BER element headers (tag and length) behind both parsers of chip input: the ICAO LDS
 * BER-TLV reader (tlv.ts) and the ASN.1 framing check (asn1.ts). Each caller passes its rules; the bounds
 * checks are the same for both. Every byte read is checked against `limit` (and the input's own end), tags
 * and length fields are bounded, and a value must fit before `limit`, so a lying length cannot make a caller
 * read out of range.
 */
import { IcaoFormatError } from './errors.js';

export interface BerRules {
  /** Most tag bytes accepted, the first one included. */
  maxTagBytes: number;
  /** Refuse 0x00 and 0xFF as the first tag byte (padding in ISO 7816, never an LDS tag). */
  refusePaddingTag: boolean;
  /** Accept an indefinite length on constructed elements; it is refused on primitive ones in any case. */
  allowIndefinite: boolean;
}

export interface BerHeader {
  /** The first tag byte: class, constructed bit and the low tag number. */
  firstTagByte: number;
  /** All tag bytes read as one big-endian number, e.g. 0x5F1F or 0x7F61. */
  tag: number;
  constructed: boolean;
  valueStart: number;
  /** Where the value ends; undefined for an indefinite length (the value runs to its end-of-contents octets). */
  valueEnd: number | undefined;
}

export interface DefiniteBerHeader extends BerHeader {
  valueEnd: number;
}

/** A length field of more than four bytes is never real and would exceed what we can address anyway. */
const MAX_LENGTH_OCTETS = 4;

/** Reads the header of the element at `offset`, not looking at or past `limit`; `what` names the input in errors. */
export function readBerHeader(bytes: Uint8Array, offset: number, limit: number, rules: BerRules & { allowIndefinite: false }, what: string): DefiniteBerHeader;
export function readBerHeader(bytes: Uint8Array, offset: number, limit: number, rules: BerRules, what: string): BerHeader;
export function readBerHeader(bytes: Uint8Array, offset: number, limit: number, rules: BerRules, what: string): BerHeader {
  const end = Math.min(limit, bytes.length);
  const lengthAt = tagEnd(bytes, offset, end, rules, what);
  const firstTagByte = bytes[offset] as number;
  const tag = bigEndian(bytes, offset, lengthAt);
  const constructed = (firstTagByte & 0x20) !== 0;
  const lengthByte = byteAt(bytes, lengthAt, end);
  if (lengthByte === undefined) throw framingError('TRUNCATED', what, 'missing length', offset);
  if (lengthByte === 0x80) {
    if (!rules.allowIndefinite) throw framingError('BAD_LENGTH', what, 'indefinite length is not allowed', offset);
    if (!constructed) throw framingError('BAD_LENGTH', what, 'indefinite length on a primitive element', offset);
    return { firstTagByte, tag, constructed, valueStart: lengthAt + 1, valueEnd: undefined };
  }
  // Short form below 0x80; else 0x81..0x84 followed by that many big-endian length bytes.
  const count = lengthByte < 0x80 ? 0 : lengthByte & 0x7f;
  if (count > MAX_LENGTH_OCTETS) throw framingError('BAD_LENGTH', what, `${count}-byte length`, offset);
  const valueStart = lengthAt + 1 + count;
  if (valueStart > end) throw framingError('TRUNCATED', what, 'length runs past the end', offset);
  const length = count === 0 ? lengthByte : bigEndian(bytes, lengthAt + 1, valueStart);
  if (valueStart + length > end) throw framingError('TRUNCATED', what, `length ${length} runs past the enclosing element`, offset);
  return { firstTagByte, tag, constructed, valueStart, valueEnd: valueStart + length };
}

/** Checks the tag at `offset` against the rules and returns where it ends (where the length begins). */
function tagEnd(bytes: Uint8Array, offset: number, end: number, rules: BerRules, what: string): number {
  const first = byteAt(bytes, offset, end);
  if (first === undefined) throw framingError('TRUNCATED', what, 'missing tag', offset);
  if (rules.refusePaddingTag && (first === 0x00 || first === 0xff)) throw framingError('BAD_TAG', what, `invalid tag byte 0x${first.toString(16)}`, offset);
  let pos = offset + 1;
  if ((first & 0x1f) !== 0x1f) return pos;
  // High tag number form: subsequent bytes carry 7 bits each, bit 8 set on all but the last.
  for (let more = true; more; pos++) {
    const byte = byteAt(bytes, pos, end);
    if (byte === undefined) throw framingError('TRUNCATED', what, 'tag runs past the end', offset);
    if (pos - offset >= rules.maxTagBytes) throw framingError('BAD_TAG', what, `tag longer than ${rules.maxTagBytes} bytes`, offset);
    more = (byte & 0x80) !== 0;
  }
  return pos;
}

/** bytes[from..to) as one big-endian number; callers have checked the range and keep it to at most five bytes. */
function bigEndian(bytes: Uint8Array, from: number, to: number): number {
  let value = 0;
  for (let pos = from; pos < to; pos++) value = value * 256 + (bytes[pos] as number);
  return value;
}

/** The byte at `pos`, or undefined at or past `end` (or outside the input). */
function byteAt(bytes: Uint8Array, pos: number, end: number): number | undefined {
  return pos < end ? bytes[pos] : undefined;
}

function framingError(code: 'TRUNCATED' | 'BAD_TAG' | 'BAD_LENGTH', what: string, detail: string, offset: number): IcaoFormatError {
  return new IcaoFormatError(code, `${what}: ${detail} at byte ${offset}`);
}
