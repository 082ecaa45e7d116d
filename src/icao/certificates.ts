/**
 * X.509 certificates of the ePassport PKI (Doc 9303-12): Country Signing CA (CSCA) and Document Signer
 * (DS) certificates. pkijs reads the structure and extensions; node:crypto does the signature math, so
 * brainpool and explicit-parameter keys work.
 */
import { createHash, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { type SignatureScheme, describeScheme, publicKeyFromSpki, signatureScheme, verifySignature } from './algorithms.js';
import { derOf, formatName, parseDer, serialHex } from './asn1.js';
import { BoundedCache } from './memo.js';
import { SIZE_LIMITS, checkSize, guard } from './errors.js';

const EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

export interface KeyUsage {
  digitalSignature: boolean;
  keyCertSign: boolean;
  cRLSign: boolean;
}

export interface CertificateInfo {
  /** The certificate as pkijs reads it (names are compared with pkijs' normalising `isEqual`). */
  cert: pkijs.Certificate;
  der: Buffer;
  /** SHA-256 of the DER, hex: a stable identity for caches and reports. */
  fingerprint: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  subjectKeyIdentifier?: Buffer;
  authorityKeyIdentifier?: Buffer;
  isCA: boolean;
  /** Absent when the certificate has no keyUsage extension. */
  keyUsage?: KeyUsage;
  /** Loaded on first use: a master list holds hundreds of certificates, most never needed. */
  readonly publicKey: KeyObject;
}

/** Parses a DER certificate from an untrusted source. */
export function parseCertificate(der: Uint8Array, what = 'certificate'): CertificateInfo {
  checkSize(der, SIZE_LIMITS.certificate, what);
  const copy = Buffer.from(der); // the parsed certificate keeps views into these bytes
  const block = parseDer(copy, what);
  const cert = guard('BAD_CERTIFICATE', what, () => new pkijs.Certificate({ schema: block }));
  return describeCertificate(cert, copy, what);
}

const parsedCertificates = new BoundedCache<CertificateInfo>(1000);

/**
 * `parseCertificate` with a bounded cache keyed by the DER's hash: every document of a batch carries the
 * same DS certificate, and parsing it (and loading its key) costs more than verifying a signature.
 */
export function parseCertificateCached(der: Uint8Array, what = 'certificate'): CertificateInfo {
  return parsedCertificates.get(createHash('sha256').update(der).digest('hex'), () => parseCertificate(der, what));
}

/** Wraps a certificate pkijs already parsed (for example from SignedData.certificates). */
export function describeCertificate(cert: pkijs.Certificate, der?: Buffer, what = 'certificate'): CertificateInfo {
  return guard('BAD_CERTIFICATE', what, () => {
    const encoded = der ?? Buffer.from(cert.toSchema().toBER(false));
    const extensions = cert.extensions ?? [];
    const find = (oid: string) => extensions.find((e) => e.extnID === oid)?.parsedValue as unknown;
    const basic = find(EXT.basicConstraints);
    const ski = find(EXT.subjectKeyIdentifier);
    const aki = find(EXT.authorityKeyIdentifier);
    const usage = find(EXT.keyUsage);
    let publicKey: KeyObject | undefined;
    return {
      cert,
      der: encoded,
      fingerprint: createHash('sha256').update(encoded).digest('hex'),
      subject: formatName(cert.subject),
      issuer: formatName(cert.issuer),
      serialNumber: serialHex(cert.serialNumber),
      notBefore: cert.notBefore.value,
      notAfter: cert.notAfter.value,
      subjectKeyIdentifier: ski instanceof asn1js.OctetString ? Buffer.from(ski.valueBlock.valueHexView) : undefined,
      authorityKeyIdentifier:
        aki instanceof pkijs.AuthorityKeyIdentifier && aki.keyIdentifier ? Buffer.from(aki.keyIdentifier.valueBlock.valueHexView) : undefined,
      isCA: basic instanceof pkijs.BasicConstraints && basic.cA === true,
      keyUsage: usage instanceof asn1js.BitString ? keyUsageBits(usage) : undefined,
      get publicKey() {
        publicKey ??= publicKeyFromSpki(derOf(cert.subjectPublicKeyInfo));
        return publicKey;
      },
    };
  });
}

/** KeyUsage ::= BIT STRING { digitalSignature(0), …, keyCertSign(5), cRLSign(6) }, bit 0 = MSB of byte 0. */
function keyUsageBits(bits: asn1js.BitString): KeyUsage {
  const first = bits.valueBlock.valueHexView[0] ?? 0;
  return { digitalSignature: (first & 0x80) !== 0, keyCertSign: (first & 0x04) !== 0, cRLSign: (first & 0x02) !== 0 };
}

export function isValidAt(cert: CertificateInfo, at: Date): boolean {
  return cert.notBefore.getTime() <= at.getTime() && at.getTime() <= cert.notAfter.getTime();
}

/**
 * Verifies that `issuer`'s key signed `subject`. Also requires the outer and inner (TBS) signature
 * algorithms to agree, as RFC 5280 §4.1.1.2 does, so the signature cannot be reinterpreted.
 */
export function verifyIssuedBy(subject: CertificateInfo, issuer: CertificateInfo): { ok: boolean; algorithm: string; reason?: string } {
  let scheme: SignatureScheme;
  try {
    scheme = signatureScheme(subject.cert.signatureAlgorithm);
  } catch (error) {
    return { ok: false, algorithm: subject.cert.signatureAlgorithm.algorithmId, reason: (error as Error).message };
  }
  const algorithm = describeScheme(scheme);
  if (subject.cert.signature.algorithmId !== subject.cert.signatureAlgorithm.algorithmId) {
    return { ok: false, algorithm, reason: 'TBS signature algorithm differs from the outer signature algorithm' };
  }
  let key: KeyObject;
  try {
    key = issuer.publicKey;
  } catch (error) {
    return { ok: false, algorithm, reason: `issuer key unusable: ${(error as Error).message}` };
  }
  const signature = subject.cert.signatureValue.valueBlock.valueHexView;
  const ok = verifySignature(scheme, key, subject.cert.tbsView, signature);
  return ok ? { ok, algorithm } : { ok, algorithm, reason: 'signature does not verify with the issuer key' };
}

/** PEM blocks of one label ("CERTIFICATE", "X509 CRL") as DER. */
export function pemBlocks(text: string, label: string): Buffer[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...text.matchAll(pattern)].map((m) => Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
}

export function toPem(der: Uint8Array, label: string): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Subject key identifier as RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
export function computeKeyIdentifier(spki: Uint8Array): Buffer {
  const info = guard('BAD_KEY', 'public key', () => new pkijs.PublicKeyInfo({ schema: parseDer(spki, 'public key') }));
  return createHash('sha1').update(info.subjectPublicKey.valueBlock.valueHexView).digest();
}

/**
 * Names must match for an issuer candidate; throws nothing. Identical encodings are equal under any
 * normalisation, so they skip pkijs' string-prepping comparison: it runs for every document whose SignerInfo
 * names its DS by issuer and serial number, and cost about a quarter of an RSA signature check there.
 */
export function namesEqual(a: pkijs.RelativeDistinguishedNames, b: pkijs.RelativeDistinguishedNames): boolean {
  if (a.valueBeforeDecode.byteLength > 0 && Buffer.from(a.valueBeforeDecode).equals(Buffer.from(b.valueBeforeDecode))) return true;
  try {
    return a.isEqual(b);
  } catch {
    return false;
  }
}
