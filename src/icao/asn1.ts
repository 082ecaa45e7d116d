/**
 * Reading untrusted DER: a strict raw reader (framing, navigation and leaf decoders over the exact bytes) for
 * the per-document structures, and bounded asn1js parsing with typed navigation for the rest. Every helper
 * throws `IcaoFormatError` instead of returning asn1js' silent error objects.
 */
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { readBerHeader, type BerHeader, type BerRules } from './ber.js';
import { guard, IcaoFormatError } from './errors.js';

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
  // copyInput: false — callers that keep parsed objects beyond the call pass their own copy. asn1js throws a plain
  // Error from inside the parse for some malformed values (a GeneralizedTime with letters in it): a format error too.
  const parsed = guard('BAD_ASN1', what, () => asn1js.fromBER(bytes, { maxDepth: MAX_DEPTH, maxNodes, parseEmbedded: false, copyInput: false }));
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
  const end = frame(bufferView(bytes), 0, bytes.length, 1, what);
  if (end !== bytes.length) throw new IcaoFormatError('TRAILING_BYTES', `${what}: ${bytes.length - end} bytes after the ASN.1 element`);
}

/** ASN.1 BER framing: tags of up to five bytes, indefinite lengths on constructed elements. */
const ASN1_RULES: BerRules = { maxTagBytes: 5, refusePaddingTag: false, allowIndefinite: true };

function readHeader(b: Uint8Array, offset: number, limit: number, what: string): BerHeader {
  return readBerHeader(b, offset, limit, ASN1_RULES, what);
}

/** Validates the element at `offset` (not past `limit`) and returns where it ends. */
function frame(b: Buffer, offset: number, limit: number, depth: number, what: string): number {
  if (depth > MAX_DEPTH) throw new IcaoFormatError('TOO_DEEP', `${what}: nesting deeper than ${MAX_DEPTH}`);
  const h = readHeader(b, offset, limit, what);
  if (h.valueEnd === undefined) return indefiniteEnd(b, h.valueStart, limit, depth, what);
  if (h.constructed) {
    for (let pos = h.valueStart; pos < h.valueEnd; ) pos = frame(b, pos, h.valueEnd, depth + 1, what);
  }
  return h.valueEnd;
}

/** Walks the children of an indefinite-length value up to its end-of-contents octets, collecting them in `children`. */
function indefiniteEnd(b: Buffer, start: number, limit: number, depth: number, what: string, children?: RawElement[]): number {
  let pos = start;
  while (!(b[pos] === 0 && b[pos + 1] === 0)) {
    if (pos >= limit) throw new IcaoFormatError('TRUNCATED', `${what}: no end-of-contents`);
    const end = frame(b, pos, limit, depth + 1, what);
    children?.push({ tag: b[pos] as number, bytes: b.subarray(pos, end) });
    pos = end;
  }
  if (pos + 2 > limit) throw new IcaoFormatError('TRUNCATED', `${what}: end-of-contents runs past the end`);
  return pos + 2;
}

/** A Buffer over the same memory (no copy), for `subarray` views. Raw elements already are Buffers. */
function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A raw DER/BER element: its first tag byte and its exact encoding. */
export interface RawElement {
  tag: number;
  bytes: Buffer;
}

/**
 * The children of a constructed element, as raw encodings. This lets hot paths read only the pieces they
 * need, and keeps the exact bytes a signature or a hash covers.
 *
 * Only this level is framed (indefinite-length children are walked to find their end): callers check the
 * whole input once with `checkBerFraming`, and each element is bounds-checked again when it is read, so
 * re-walking every subtree at every level would only repeat that work.
 */
export function rawChildren(element: Uint8Array, what: string): RawElement[] {
  const buf = bufferView(element);
  const h = readHeader(buf, 0, buf.length, what);
  if (!h.constructed) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected a constructed element`);
  const children: RawElement[] = [];
  if (h.valueEnd === undefined) {
    indefiniteEnd(buf, h.valueStart, buf.length, 1, what, children);
    return children;
  }
  for (let pos = h.valueStart; pos < h.valueEnd; ) {
    const child = readHeader(buf, pos, h.valueEnd, what);
    const end = child.valueEnd ?? indefiniteEnd(buf, child.valueStart, h.valueEnd, 2, what);
    children.push({ tag: child.firstTagByte, bytes: buf.subarray(pos, end) });
    pos = end;
  }
  return children;
}

/** Reads a SEQUENCE's elements in order: required ones by tag, optional ones if the tag is next. */
export class SequenceReader {
  private readonly parts: RawElement[];
  private index = 0;

  constructor(
    element: Uint8Array,
    private readonly what: string,
  ) {
    if (element[0] !== 0x30) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected a SEQUENCE`);
    this.parts = rawChildren(element, what);
  }

  next(tag: number): RawElement {
    const part = this.parts[this.index++];
    if (part?.tag !== tag) throw new IcaoFormatError('BAD_STRUCTURE', `${this.what}: element ${this.index} is not tag 0x${tag.toString(16)}`);
    return part;
  }

  optional(tag: number): RawElement | undefined {
    return this.parts[this.index]?.tag === tag ? this.parts[this.index++] : undefined;
  }

  end(): void {
    if (this.index !== this.parts.length) throw new IcaoFormatError('BAD_STRUCTURE', `${this.what}: unexpected trailing elements`);
  }
}

/**
 * Exactly the listed children of a constructed element whose first tag byte is `outerTag` (a SEQUENCE unless
 * said otherwise), each child with the given first tag byte (undefined: any tag).
 */
export function expectChildren<T extends (number | undefined)[]>(
  element: Uint8Array,
  what: string,
  tags: [...T],
  outerTag = 0x30,
): { [K in keyof T]: RawElement } {
  if (element[0] !== outerTag) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected tag 0x${outerTag.toString(16)}`);
  const children = rawChildren(element, what);
  if (children.length !== tags.length || children.some((c, i) => tags[i] !== undefined && c.tag !== tags[i])) {
    throw new IcaoFormatError('BAD_STRUCTURE', `${what}: unexpected elements`);
  }
  return children as { [K in keyof T]: RawElement };
}

// Strict DER leaf decoders. Per-document structures (SignedData framing, signed attributes, the LDS security
// object) are read with these instead of asn1js, whose object building costs more than the signature check.

/** Bytes a DER length of `length` takes: DER requires the shortest form (X.690 §10.1). */
function lengthOctets(length: number): number {
  if (length < 0x80) return 1;
  let octets = 1;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets++;
  return octets;
}

/** The content octets of a primitive element with first tag byte `tag`, in DER: definite, shortest length. */
export function derValue(element: RawElement, tag: number, what: string): Buffer {
  if (element.tag !== tag) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected tag 0x${tag.toString(16)}, found 0x${element.tag.toString(16)}`);
  const b = element.bytes;
  const h = readHeader(b, 0, b.length, what);
  if (h.constructed || h.valueEnd === undefined) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected a primitive element`);
  if (h.valueEnd !== b.length) throw new IcaoFormatError('TRAILING_BYTES', `${what}: ${b.length - h.valueEnd} bytes after the element`);
  if (h.valueStart !== 1 + lengthOctets(h.valueEnd - h.valueStart)) {
    throw new IcaoFormatError('BAD_LENGTH', `${what}: length not in the shortest (DER) form`);
  }
  return b.subarray(h.valueStart, h.valueEnd);
}

/** A small non-negative INTEGER (versions, data group numbers): at most 4 content octets, minimally encoded. */
export function readSmallInt(element: RawElement, what: string): number {
  const v = derValue(element, 0x02, what);
  const first = v[0];
  if (first === undefined) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: empty INTEGER`);
  if (first & 0x80) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: negative INTEGER`);
  // X.690 §8.3.2: a leading zero octet may only keep the next octet's high bit from reading as a sign.
  if (first === 0 && v.length > 1 && ((v[1] as number) & 0x80) === 0) {
    throw new IcaoFormatError('BAD_STRUCTURE', `${what}: INTEGER not minimally encoded`);
  }
  if (v.length > 4) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: INTEGER too large`);
  return v.readUIntBE(0, v.length);
}

/** Far beyond real OIDs (a 2.25 UUID OID takes 20 octets); bounds the work on hostile input. */
const MAX_OID_OCTETS = 64;

/** Dotted OBJECT IDENTIFIER. Arcs beyond 2^53 (2.25 UUIDs) are kept exact as BigInt. */
export function readOid(element: RawElement, what: string): string {
  const v = derValue(element, 0x06, what);
  if (v.length === 0 || v.length > MAX_OID_OCTETS) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: OBJECT IDENTIFIER of ${v.length} octets`);
  const arcs: (number | bigint)[] = [];
  let arc: number | bigint = 0;
  for (let i = 0; i < v.length; i++) {
    const byte = v[i] as number;
    // X.690 §8.19.2: each subidentifier in the fewest octets, so it cannot start with 0x80.
    if (arc === 0 && byte === 0x80) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: OBJECT IDENTIFIER arc not minimally encoded`);
    // Past 2^45, arc * 128 + 127 could leave the exactly representable integers (2^53).
    arc = typeof arc === 'bigint' || arc > 2 ** 45 ? BigInt(arc) * 128n + BigInt(byte & 0x7f) : arc * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(arc);
      arc = 0;
    }
  }
  if ((v[v.length - 1] as number) & 0x80) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: OBJECT IDENTIFIER ends inside an arc`);
  // The first subidentifier packs two arcs: 40 * first + second, the first being 0, 1 or 2 (X.690 §8.19.4).
  const head = arcs[0] as number | bigint;
  const top = head < 40 ? 0 : head < 80 ? 1 : 2;
  arcs[0] = typeof head === 'bigint' ? head - BigInt(top * 40) : head - top * 40;
  return `${top}.${arcs.join('.')}`;
}

/** The contents of a primitive OCTET STRING (a copy: callers keep it beyond the input). */
export function readOctets(element: RawElement, what: string): Buffer {
  return Buffer.from(derValue(element, 0x04, what));
}

/**
 * An OCTET STRING where BER is allowed (CMS eContent): BER producers such as pkijs split large values into a
 * constructed string of chunks. Call it on input framed by `checkBerFraming`, whose depth limit bounds the
 * recursion over nested chunks.
 */
export function readBerOctets(element: RawElement, what: string): Buffer {
  if (element.tag !== 0x24) return readOctets(element, what);
  return Buffer.concat(rawChildren(element.bytes, what).map((chunk) => readBerOctets(chunk, what)));
}

/** RFC 5652 §11.3: UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ, UTC, seconds, no fractions. */
const TIME_FORMATS: Record<number, RegExp> = {
  0x17: /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
  0x18: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
};

/** A UTCTime or GeneralizedTime as CMS signingTime allows it; impossible dates (Feb 30, 24:00) are errors. */
export function readTime(element: RawElement, what: string): Date {
  const format = TIME_FORMATS[element.tag];
  if (!format) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: expected UTCTime or GeneralizedTime`);
  const text = derValue(element, element.tag, what).toString('latin1');
  const [, year = '', month, day, hour, minute, second] = format.exec(text) ?? [];
  // UTCTime years 50–99 are 19xx, 00–49 are 20xx (RFC 5280 §4.1.2.5.1).
  const fullYear = year.length === 2 ? (Number(year) < 50 ? '20' : '19') + year : year;
  const iso = `${fullYear}-${month}-${day}T${hour}:${minute}:${second}.000Z`;
  const date = new Date(iso);
  // Date rolls impossible fields over (Feb 30 → Mar 1); the round trip catches that and non-matching text.
  if (Number.isNaN(date.getTime()) || date.toISOString() !== iso) {
    throw new IcaoFormatError('BAD_STRUCTURE', `${what}: ${JSON.stringify(text)} is not a valid UTC time with seconds`);
  }
  return date;
}

// Navigation over asn1js objects, for what is parsed with asn1js: certificates, CRLs, master lists, DG14.

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
