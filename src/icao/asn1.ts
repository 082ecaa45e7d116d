/**
 * Small helpers over asn1js for reading untrusted DER: bounded parsing, typed navigation and value
 * extraction. Every helper throws `IcaoFormatError` instead of returning asn1js' silent error objects.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { IcaoFormatError } from './errors.js';

/** Nesting far beyond any real CMS structure (a certificate inside SignedData is about 12 levels deep). */
const MAX_DEPTH = 40;

/**
 * Parses exactly one DER/BER element filling all of `bytes`. `parseEmbedded: false` stops asn1js from
 * speculatively decoding the contents of every OCTET/BIT STRING, which is both slow and an attack surface;
 * we decode embedded structures (eContent, extensions) explicitly where we need them.
 */
export function parseDer(bytes: Uint8Array, what: string, maxNodes = 20_000): asn1js.AsnType {
  if (bytes.length === 0) throw new IcaoFormatError('EMPTY_INPUT', `${what} is empty`);
  checkBerFraming(bytes, what);
  // copyInput: false — callers that keep parsed objects beyond the call pass their own copy.
  const parsed = asn1js.fromBER(bytes, { maxDepth: MAX_DEPTH, maxNodes, parseEmbedded: false, copyInput: false });
  if (parsed.offset === -1) {
    const reason = parsed.result.error || 'malformed encoding';
    const code = /depth/i.test(reason) ? 'TOO_DEEP' : 'BAD_ASN1';
    throw new IcaoFormatError(code, `${what}: ${reason}`);
  }
  if (parsed.offset !== bytes.length) {
    throw new IcaoFormatError('TRAILING_BYTES', `${what}: ${bytes.length - parsed.offset} bytes after the ASN.1 element`);
  }
  return parsed.result;
}

/**
 * Checks that every element's length fits inside its parent, down to the primitives, before asn1js sees
 * the bytes: asn1js lets a child run past the end of its parent, so a corrupted outer length would go
 * unnoticed. Indefinite lengths (BER) are allowed on constructed elements only.
 */
export function checkBerFraming(bytes: Uint8Array, what: string): void {
  const end = frame(bytes, 0, bytes.length, 1, what);
  if (end !== bytes.length) throw new IcaoFormatError('TRAILING_BYTES', `${what}: ${bytes.length - end} bytes after the ASN.1 element`);
}

interface Header {
  /** First tag byte: class, constructed bit and (low) tag number. */
  tag: number;
  constructed: boolean;
  valueStart: number;
  /** Undefined for an indefinite length. */
  valueEnd?: number;
}

function framingError(code: 'TRUNCATED' | 'BAD_TAG' | 'BAD_LENGTH', what: string, detail: string, offset: number): IcaoFormatError {
  return new IcaoFormatError(code, `${what}: ${detail} at byte ${offset}`);
}

function readHeader(b: Uint8Array, offset: number, limit: number, what: string): Header {
  let pos = offset;
  const tag = b[pos++];
  if (tag === undefined || pos > limit) throw framingError('TRUNCATED', what, 'missing tag', offset);
  if ((tag & 0x1f) === 0x1f) {
    // High tag numbers: base-128 with continuation bit; more than 4 bytes is not a real tag.
    for (let n = 0; ; n++) {
      const byte = b[pos++];
      if (byte === undefined || pos > limit) throw framingError('TRUNCATED', what, 'tag runs past the end', offset);
      if (n >= 4) throw framingError('BAD_TAG', what, 'tag number too long', offset);
      if ((byte & 0x80) === 0) break;
    }
  }
  const lengthByte = b[pos++];
  if (lengthByte === undefined || pos > limit) throw framingError('TRUNCATED', what, 'missing length', offset);
  const constructed = (tag & 0x20) !== 0;
  if (lengthByte === 0x80) {
    if (!constructed) throw framingError('BAD_LENGTH', what, 'indefinite length on a primitive element', offset);
    return { tag, constructed, valueStart: pos };
  }
  let length = lengthByte;
  if (lengthByte > 0x80) {
    const count = lengthByte & 0x7f;
    if (count > 4) throw framingError('BAD_LENGTH', what, `${count}-byte length`, offset);
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = b[pos++];
      if (byte === undefined || pos > limit) throw framingError('TRUNCATED', what, 'length runs past the end', offset);
      length = length * 256 + byte;
    }
  }
  if (pos + length > limit) throw framingError('TRUNCATED', what, `length ${length} runs past the enclosing element`, offset);
  return { tag, constructed, valueStart: pos, valueEnd: pos + length };
}

/** Validates the element at `offset` (not past `limit`) and returns where it ends. */
function frame(b: Uint8Array, offset: number, limit: number, depth: number, what: string): number {
  if (depth > MAX_DEPTH) throw new IcaoFormatError('TOO_DEEP', `${what}: nesting deeper than ${MAX_DEPTH}`);
  const h = readHeader(b, offset, limit, what);
  if (h.valueEnd === undefined) return indefiniteEnd(b, h.valueStart, limit, depth, what, () => undefined);
  if (h.constructed) {
    for (let pos = h.valueStart; pos < h.valueEnd; ) pos = frame(b, pos, h.valueEnd, depth + 1, what);
  }
  return h.valueEnd;
}

/** Walks the children of an indefinite-length value up to its end-of-contents octets. */
function indefiniteEnd(b: Uint8Array, start: number, limit: number, depth: number, what: string, onChild: (s: number, e: number) => void): number {
  let pos = start;
  while (!(b[pos] === 0 && b[pos + 1] === 0)) {
    if (pos >= limit) throw new IcaoFormatError('TRUNCATED', `${what}: no end-of-contents`);
    const end = frame(b, pos, limit, depth + 1, what);
    onChild(pos, end);
    pos = end;
  }
  if (pos + 2 > limit) throw new IcaoFormatError('TRUNCATED', `${what}: end-of-contents runs past the end`);
  return pos + 2;
}

/** A raw DER/BER element: its first tag byte and its exact encoding. */
export interface RawElement {
  tag: number;
  bytes: Buffer;
}

/**
 * The children of a constructed element, as raw encodings. This lets hot paths hand asn1js only the
 * pieces they read, and keeps the exact bytes a signature or a hash covers.
 */
export function rawChildren(element: Uint8Array, what: string): RawElement[] {
  const buf = Buffer.from(element.buffer, element.byteOffset, element.byteLength);
  const h = readHeader(buf, 0, buf.length, what);
  if (!h.constructed) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected a constructed element`);
  const children: RawElement[] = [];
  const add = (start: number, end: number) => children.push({ tag: buf[start] as number, bytes: buf.subarray(start, end) });
  if (h.valueEnd === undefined) {
    indefiniteEnd(buf, h.valueStart, buf.length, 1, what, add);
    return children;
  }
  for (let pos = h.valueStart; pos < h.valueEnd; ) {
    const end = frame(buf, pos, h.valueEnd, 2, what);
    add(pos, end);
    pos = end;
  }
  return children;
}

/** The content octets of a definite-length primitive element. */
export function rawValue(element: RawElement, what: string): Buffer {
  const h = readHeader(element.bytes, 0, element.bytes.length, what);
  if (h.valueEnd === undefined || h.constructed) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected a primitive element`);
  return element.bytes.subarray(h.valueStart, h.valueEnd);
}

export function asSequence(block: unknown, what: string): asn1js.Sequence {
  if (!(block instanceof asn1js.Sequence)) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected a SEQUENCE`);
  return block;
}

export function asSet(block: unknown, what: string): asn1js.Set {
  if (!(block instanceof asn1js.Set)) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected a SET`);
  return block;
}

export function oidOf(block: unknown, what: string): string {
  if (!(block instanceof asn1js.ObjectIdentifier)) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected an OBJECT IDENTIFIER`);
  return block.valueBlock.toString();
}

/** A small non-negative INTEGER (versions, data group numbers). */
export function smallIntOf(block: unknown, what: string): number {
  if (!(block instanceof asn1js.Integer)) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected an INTEGER`);
  const hex = Buffer.from(block.valueBlock.valueHexView);
  if (hex.length > 4) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: INTEGER too large`);
  return block.valueBlock.valueDec;
}

/** The contents of an OCTET STRING, primitive or (BER) constructed. */
export function octetsOf(block: unknown, what: string): Buffer {
  if (!(block instanceof asn1js.OctetString)) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected an OCTET STRING`);
  return Buffer.from(block.getValue());
}

/** The children of a SEQUENCE/SET/context-tagged constructed block. */
export function childrenOf(block: unknown): asn1js.AsnType[] {
  const value = (block as { valueBlock?: { value?: unknown } } | undefined)?.valueBlock?.value;
  return Array.isArray(value) ? (value as asn1js.AsnType[]) : [];
}

/** Big-endian serial number as lower-case hex without leading zero bytes ("01" stays "01"). */
export function serialHex(serial: asn1js.Integer): string {
  const bytes = Buffer.from(serial.valueBlock.valueHexView);
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start).toString('hex');
}

const NAME_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** A readable distinguished name, in certificate order: "C=UT, O=Utopia, CN=CSCA". */
export function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => {
      const label = NAME_LABELS[tv.type] ?? tv.type;
      const value = (tv.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
      return `${label}=${typeof value === 'string' ? value : '?'}`;
    })
    .join(', ');
}

/** DER re-encoding of a pkijs object (for comparisons and for building). */
export function derOf(obj: { toSchema(): asn1js.AsnType }): Buffer {
  return Buffer.from(obj.toSchema().toBER(false));
}
