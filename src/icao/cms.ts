/**
 * CMS SignedData (RFC 5652) as used by EF.SOD and CSCA master lists: parsing into plain data, locating
 * the signer's certificate, and verifying one SignerInfo.
 */
import type { KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { type HashName, type SignatureScheme, describeScheme, digest, hashName, signatureScheme, verifySignature } from './algorithms.js';
import {
  type RawElement,
  SequenceReader,
  checkBerFraming,
  derValue,
  expectChildren,
  formatName,
  parseDer,
  rawChildren,
  readBerOctets,
  readOctets,
  readOid,
  readSmallInt,
  readTime,
  serialHex,
} from './asn1.js';
import { type CertificateInfo, namesEqual, parseCertificateCached } from './certificates.js';
import { BoundedCache } from './memo.js';
import { IcaoFormatError, guard } from './errors.js';

export const CONTENT_TYPES = {
  signedData: '1.2.840.113549.1.7.2',
  ldsSecurityObject: '2.23.136.1.1.1',
  cscaMasterList: '2.23.136.1.1.2',
} as const;

export const ATTRIBUTES = {
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
} as const;

export type SignerIdentifier =
  | { kind: 'issuerAndSerialNumber'; issuer: pkijs.RelativeDistinguishedNames; issuerName: string; serialNumber: string }
  | { kind: 'subjectKeyIdentifier'; keyIdentifier: Buffer };

export interface SignedAttributes {
  /** The attributes re-tagged as SET (0x31): the bytes the signature covers (RFC 5652 §5.4). */
  der: Buffer;
  contentType?: string;
  messageDigest?: Buffer;
  signingTime?: Date;
}

export interface SignerInfoData {
  version: number;
  sid: SignerIdentifier;
  digestAlgorithm: string;
  signatureAlgorithm: pkijs.AlgorithmIdentifier;
  signature: Buffer;
  signedAttributes?: SignedAttributes;
}

export interface SignedDataContent {
  eContentType: string;
  /** The eContent OCTET STRING value: the DER the messageDigest covers. */
  eContent: Buffer;
  certificates: CertificateInfo[];
  signerInfos: SignerInfoData[];
}

/**
 * Parses ContentInfo → SignedData with an encapsulated content of the expected type.
 *
 * The structure is walked as raw elements with the strict DER reader; only what recurs across documents
 * (certificates, algorithm identifiers, issuer names) goes through asn1js/pkijs, behind caches. A full
 * asn1js/pkijs parse of an EF.SOD costs several times the signature check; the raw walk also keeps the exact
 * bytes of the signed attributes and certificates.
 */
export function parseSignedData(der: Uint8Array, what: string, expectedContentType: string, options: { maxCertificates?: number } = {}): SignedDataContent {
  checkBerFraming(der, what);
  const [contentType, content] = expectChildren(der, `${what} ContentInfo`, [0x06, 0xa0]);
  if (readOid(contentType, `${what} contentType`) !== CONTENT_TYPES.signedData) {
    throw new IcaoFormatError('BAD_STRUCTURE', `${what}: content type is not signedData`);
  }
  const [signedDataElement] = expectChildren(content.bytes, `${what} content`, [0x30], 0xa0);
  const seq = new SequenceReader(signedDataElement.bytes, `${what} SignedData`);
  const version = readSmallInt(seq.next(0x02), `${what} SignedData version`);
  // RFC 5652 §5.1: version 3 whenever the content is not id-data, as for every ICAO structure.
  if (version !== 3) throw new IcaoFormatError('BAD_STRUCTURE', `${what}: SignedData version ${version}, expected 3`);
  seq.next(0x31); // digestAlgorithms: informative only, each SignerInfo names its own
  const [eContentTypeElement, eContentElement] = expectChildren(seq.next(0x30).bytes, `${what} encapContentInfo`, [0x06, 0xa0]);
  const eContentType = readOid(eContentTypeElement, `${what} eContentType`);
  if (eContentType !== expectedContentType) {
    throw new IcaoFormatError('BAD_STRUCTURE', `${what}: encapsulated content type ${eContentType}, expected ${expectedContentType}`);
  }
  const [octets] = expectChildren(eContentElement.bytes, `${what} eContent`, [undefined], 0xa0);
  const certificates = seq.optional(0xa0);
  seq.optional(0xa1); // crls: ICAO puts CRLs in the PKD, not in the SOD
  const signerInfos = rawChildren(seq.next(0x31).bytes, `${what} signerInfos`);
  seq.end();
  const certificateElements = certificates ? rawChildren(certificates.bytes, `${what} certificates`) : [];
  // Counted before any is parsed: parsing is the costly part, and a stuffed set costs the server, not the sender.
  if (options.maxCertificates !== undefined && certificateElements.length > options.maxCertificates) {
    throw new IcaoFormatError('BAD_STRUCTURE', `${what} carries ${certificateElements.length} certificates; at most ${options.maxCertificates} are accepted`);
  }
  return {
    eContentType,
    eContent: readBerOctets(octets, `${what} eContent`),
    certificates: certificateElements
      .filter((c) => c.tag === 0x30) // other certificate formats (attribute certificates…) are not X.509
      .map((c) => parseCertificateCached(c.bytes, `${what} certificate`)),
    signerInfos: signerInfos.map((s) => signerInfoData(s, what)),
  };
}

const algorithmIdentifiers = new BoundedCache<pkijs.AlgorithmIdentifier>(200);
const issuerAndSerialNumbers = new BoundedCache<SignerIdentifier>(1000);
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function algorithmIdentifier(element: RawElement, what: string): pkijs.AlgorithmIdentifier {
  return algorithmIdentifiers.get(hexOf(element.bytes), () =>
    guard('BAD_STRUCTURE', what, () => new pkijs.AlgorithmIdentifier({ schema: parseDer(element.bytes, what) })),
  );
}

/**
 * SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT SET OPTIONAL,
 *   signatureAlgorithm, signature OCTET STRING, unsignedAttrs [1] IMPLICIT SET OPTIONAL }
 */
function signerInfoData(element: RawElement, what: string): SignerInfoData {
  const seq = new SequenceReader(element.bytes, `${what} SignerInfo`);
  const version = readSmallInt(seq.next(0x02), `${what} SignerInfo version`);
  const sid = signerIdentifier(seq.optional(0x30) ?? seq.next(0x80), what);
  // RFC 5652 §5.3: version 1 goes with issuerAndSerialNumber, version 3 with subjectKeyIdentifier.
  const expectedVersion = sid.kind === 'issuerAndSerialNumber' ? 1 : 3;
  if (version !== expectedVersion) throw new IcaoFormatError('BAD_STRUCTURE', `SignerInfo version ${version} does not fit its ${sid.kind}`);
  const digestAlgorithm = algorithmIdentifier(seq.next(0x30), 'SignerInfo digestAlgorithm').algorithmId;
  const attrs = seq.optional(0xa0);
  const signatureAlgorithm = algorithmIdentifier(seq.next(0x30), 'SignerInfo signatureAlgorithm');
  const signature = readOctets(seq.next(0x04), `${what} SignerInfo signature`);
  seq.optional(0xa1);
  seq.end();
  return { version, sid, digestAlgorithm, signatureAlgorithm, signature, signedAttributes: attrs && signedAttributes(attrs) };
}

function signerIdentifier(element: RawElement, what: string): SignerIdentifier {
  if (element.tag === 0x80) return { kind: 'subjectKeyIdentifier', keyIdentifier: Buffer.from(derValue(element, 0x80, 'subjectKeyIdentifier')) };
  return issuerAndSerialNumbers.get(hexOf(element.bytes), () => {
    const sid = guard('BAD_STRUCTURE', `${what} issuerAndSerialNumber`, () => new pkijs.IssuerAndSerialNumber({ schema: parseDer(element.bytes, what) }));
    return { kind: 'issuerAndSerialNumber', issuer: sid.issuer, issuerName: formatName(sid.issuer), serialNumber: serialHex(sid.serialNumber) };
  });
}

const KNOWN_ATTRIBUTES: ReadonlySet<string> = new Set(Object.values(ATTRIBUTES));

/** Each attribute type may appear once; the ones we read must have exactly one value (RFC 5652 §5.3 and §11). */
function signedAttributes(element: RawElement): SignedAttributes {
  const der = Buffer.from(element.bytes);
  der[0] = 0x31; // the signature covers the SET OF encoding, not the [0] IMPLICIT tag (RFC 5652 §5.4)
  const result: SignedAttributes = { der };
  const seen = new Set<string>();
  for (const attribute of rawChildren(element.bytes, 'signedAttrs')) {
    const [typeElement, values] = expectChildren(attribute.bytes, 'Attribute', [0x06, 0x31]);
    const type = readOid(typeElement, 'Attribute type');
    if (seen.has(type)) throw new IcaoFormatError('BAD_STRUCTURE', `signed attribute ${type} appears twice`);
    seen.add(type);
    if (KNOWN_ATTRIBUTES.has(type)) readAttribute(type, values, result);
  }
  return result;
}

function readAttribute(type: string, values: RawElement, result: SignedAttributes): void {
  const [value, ...more] = rawChildren(values.bytes, `attribute ${type} values`);
  if (value === undefined || more.length > 0) throw new IcaoFormatError('BAD_STRUCTURE', `signed attribute ${type} must have exactly one value`);
  if (type === ATTRIBUTES.contentType) result.contentType = readOid(value, 'contentType');
  if (type === ATTRIBUTES.messageDigest) result.messageDigest = readOctets(value, 'messageDigest');
  if (type === ATTRIBUTES.signingTime) result.signingTime = readTime(value, 'signingTime');
}

/** The certificate named by the signer identifier, among those carried in the SignedData. */
export function findSignerCertificate(sid: SignerIdentifier, certificates: readonly CertificateInfo[]): CertificateInfo | undefined {
  if (sid.kind === 'subjectKeyIdentifier') {
    return certificates.find((c) => c.subjectKeyIdentifier?.equals(sid.keyIdentifier));
  }
  return certificates.find((c) => c.serialNumber === sid.serialNumber && namesEqual(c.cert.issuer, sid.issuer));
}

export interface SignerVerification {
  ok: boolean;
  reason: string;
  /** e.g. "ecdsa-with-sha256"; absent when the algorithm is unknown. */
  algorithm?: string;
  digestHash?: HashName;
}

/**
 * Verifies a SignerInfo the way Doc 9303-11 §5.1 asks: contentType must name the eContent type,
 * messageDigest must equal Hash_digestAlgorithm(eContent), and the signature must verify over the DER of
 * the signed attributes tagged as SET (0x31) — not over the [0] tag found in the SignerInfo.
 */
export function verifySignerInfo(signer: SignerInfoData, content: Pick<SignedDataContent, 'eContentType' | 'eContent'>, key: KeyObject): SignerVerification {
  let hash: HashName;
  let algorithm: string;
  let scheme: SignatureScheme;
  try {
    hash = hashName(signer.digestAlgorithm);
    scheme = signatureScheme(signer.signatureAlgorithm, hash);
    algorithm = describeScheme(scheme);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  const fail = (reason: string): SignerVerification => ({ ok: false, reason, algorithm, digestHash: hash });
  const attrs = signer.signedAttributes;
  if (!attrs) return fail('SignerInfo has no signed attributes; Doc 9303 requires contentType and messageDigest');
  if (attrs.contentType !== content.eContentType) {
    return fail(`contentType attribute ${attrs.contentType ?? '(missing)'} does not match eContentType ${content.eContentType}`);
  }
  if (!attrs.messageDigest) return fail('messageDigest attribute is missing');
  if (!attrs.messageDigest.equals(digest(hash, content.eContent))) {
    return fail(`messageDigest does not match the ${hash} hash of the encapsulated content`);
  }
  if (verifySignature(scheme, key, attrs.der, signer.signature)) {
    return { ok: true, reason: `${algorithm} signature over the signed attributes verifies`, algorithm, digestHash: hash };
  }
  const asWire = Buffer.from(attrs.der);
  asWire[0] = 0xa0;
  if (verifySignature(scheme, key, asWire, signer.signature)) {
    return fail('signature covers the signed attributes with their [0] tag instead of the SET (0x31) encoding required by RFC 5652');
  }
  return fail(`${algorithm} signature over the signed attributes does not verify with the signer's key`);
}
