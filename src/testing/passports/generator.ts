/**
 * Synthetic ePassports for tests and demos: a CSCA, a Document Signer, the data groups, an EF.SOD that
 * binds them, an Active Authentication key, and deliberately broken variants, one per failure the
 * verifier must catch.
 *
 * Certificates, CRLs and CMS structures are assembled with pkijs/asn1js and signed with node:crypto,
 * because pkijs' WebCrypto engine cannot sign with brainpool keys or emit explicit EC parameters.
 * Everything here is for test documents only: keys are generated on the fly and returned in clear.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  type HashName,
  type SignatureScheme,
  createSignature,
  digest,
  digestAlgorithmIdentifier,
  ECDSA_PLAIN_OIDS,
  OID,
  signatureAlgorithmIdentifier,
} from '../../icao/algorithms.js';
import { childrenOf, parseDer } from '../../icao/asn1.js';
import { computeKeyIdentifier, toPem } from '../../icao/certificates.js';
import { ATTRIBUTES, CONTENT_TYPES } from '../../icao/cms.js';
import { buildCom, buildDg1, buildDg14, buildDg15 } from '../../icao/lds.js';
import { type Sex, buildMrz } from '../../icao/mrz.js';
import { buildLdsSecurityObject, wrapSod } from '../../icao/sod.js';
import { buildFaceDg2 } from './face-dg2.js';
import type { DocumentPhoto } from './photo.js';
import { SAMPLE_FACE_PHOTO } from './sample-face.js';

export const PASSPORT_ALGORITHMS = ['rsa-pss', 'rsa-pkcs1', 'ecdsa-p256', 'ecdsa-p384', 'brainpool-p256', 'rsa-sha1'] as const;
export type PassportAlgorithm = (typeof PASSPORT_ALGORITHMS)[number];

export const PASSPORT_VARIANTS = [
  'tampered-dg1',
  'tampered-dg2',
  'expired-document',
  'expired-ds',
  'revoked-ds',
  'untrusted-csca',
  'missing-dg-in-sod',
  'bad-message-digest',
  'signed-as-[0]',
] as const;
export type PassportVariant = (typeof PASSPORT_VARIANTS)[number];

interface AlgorithmProfile {
  key: { type: 'rsa'; modulusLength: number } | { type: 'ec'; namedCurve: string };
  scheme: SignatureScheme;
  /** Hash for data groups and the SignerInfo digest. */
  hash: HashName;
  /** Write EC keys with explicit domain parameters, as many real CSCAs do. */
  explicitParameters?: boolean;
  /** Name the signer by subjectKeyIdentifier (SignerInfo v3) instead of issuer and serial (v1). */
  sidBySki?: boolean;
  /** Write AlgorithmIdentifiers of digests with a NULL parameter (both forms occur in the wild). */
  nullDigestParams: boolean;
}

const PROFILES: Record<PassportAlgorithm, AlgorithmProfile> = {
  'rsa-pss': {
    key: { type: 'rsa', modulusLength: 2048 },
    scheme: { kind: 'rsa-pss', hash: 'sha256', mgf1Hash: 'sha256', saltLength: 32 },
    hash: 'sha256',
    nullDigestParams: true,
  },
  'rsa-pkcs1': { key: { type: 'rsa', modulusLength: 2048 }, scheme: { kind: 'rsa-pkcs1', hash: 'sha256' }, hash: 'sha256', nullDigestParams: true },
  'rsa-sha1': { key: { type: 'rsa', modulusLength: 2048 }, scheme: { kind: 'rsa-pkcs1', hash: 'sha1' }, hash: 'sha1', nullDigestParams: false },
  'ecdsa-p256': {
    key: { type: 'ec', namedCurve: 'prime256v1' },
    scheme: { kind: 'ecdsa', hash: 'sha256', encoding: 'der' },
    hash: 'sha256',
    sidBySki: true,
    nullDigestParams: false,
  },
  'ecdsa-p384': {
    key: { type: 'ec', namedCurve: 'secp384r1' },
    scheme: { kind: 'ecdsa', hash: 'sha384', encoding: 'der' },
    hash: 'sha384',
    nullDigestParams: true,
  },
  'brainpool-p256': {
    key: { type: 'ec', namedCurve: 'brainpoolP256r1' },
    scheme: { kind: 'ecdsa', hash: 'sha256', encoding: 'der' },
    hash: 'sha256',
    explicitParameters: true,
    sidBySki: true,
    nullDigestParams: false,
  },
};

/** brainpoolP256r1 (RFC 5639) as explicit SEC 1 ECParameters: what `openssl ecparam -param_enc explicit` writes. */
const BRAINPOOL_P256R1_EXPLICIT = Buffer.from(
  '3081e0020101302c06072a8648ce3d0101022100a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377' +
    '304404207d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9042026dc5c6ce94a4b44f330b5d9bbd7' +
    '7cbf958416295cf7e1ce6bccdc18ff8c07b60441048bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace32' +
    '62547ef835c3dac4fd97f8461a14611dc9c27745132ded8e545c1d54c72f046997022100a9fb57dba1eea9bc3e660a909d838d71' +
    '8c397aa3b561a6f7901e0e82974856a7020101',
  'hex',
);

const DAY = 24 * 60 * 60 * 1000;
const YEAR = 365 * DAY;

// ---------------------------------------------------------------------------------------------------------
// Keys, names, certificates

interface KeyPair {
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER as it goes into the certificate. */
  spki: Buffer;
}

function generateKeys(profile: AlgorithmProfile): KeyPair {
  const { privateKey, publicKey } =
    profile.key.type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: profile.key.modulusLength })
      : generateKeyPairSync('ec', { namedCurve: profile.key.namedCurve });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return { privateKey, spki: profile.explicitParameters ? withExplicitParameters(spki) : spki };
}

/** Replaces the named-curve OID in an EC SPKI by the curve's explicit parameters. */
function withExplicitParameters(spki: Buffer): Buffer {
  const info = new pkijs.PublicKeyInfo({ schema: parseDer(spki, 'generated key') });
  info.algorithm = new pkijs.AlgorithmIdentifier({
    algorithmId: OID.ecPublicKey,
    algorithmParams: parseDer(BRAINPOOL_P256R1_EXPLICIT, 'brainpool parameters'),
  });
  return Buffer.from(info.toSchema().toBER(false));
}

function distinguishedName(country: string, organisation: string, commonName: string): pkijs.RelativeDistinguishedNames {
  const attr = (type: string, value: pkijs.AttributeValueType) => new pkijs.AttributeTypeAndValue({ type, value });
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      attr('2.5.4.6', new asn1js.PrintableString({ value: country })),
      attr('2.5.4.10', new asn1js.Utf8String({ value: organisation })),
      attr('2.5.4.3', new asn1js.Utf8String({ value: commonName })),
    ],
  });
}

/** Country for certificate names; test documents only need something plausible (Germany is "D" in the MRZ). */
function certificateCountry(state: string): string {
  return state === 'D' ? 'DE' : state.slice(0, 2);
}

function time(date: Date): pkijs.Time {
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return new pkijs.Time({ type: date.getUTCFullYear() < 2050 ? 0 : 1, value: date });
}

/** A positive serial number of 8 bytes without a leading zero byte. */
function serialNumber(): Buffer {
  const bytes = randomBytes(8);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x10;
  return bytes;
}

function extension(extnID: string, critical: boolean, value: asn1js.AsnType): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });
}

/** KeyUsage bits, MSB first: digitalSignature 0x80, keyCertSign 0x04, cRLSign 0x02. */
function keyUsage(bits: number, unusedBits: number): pkijs.Extension {
  return extension('2.5.29.15', true, new asn1js.BitString({ valueHex: new Uint8Array([bits]), unusedBits }));
}

function authorityKeyIdentifier(keyId: Buffer): pkijs.Extension {
  return extension('2.5.29.35', false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: keyId }) }).toSchema());
}

interface CertificateSpec {
  issuer: pkijs.RelativeDistinguishedNames;
  subject: pkijs.RelativeDistinguishedNames;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: pkijs.Extension[];
  signingKey: KeyObject;
  scheme: SignatureScheme;
  serial?: Buffer;
}

function buildCertificate(spec: CertificateSpec): Buffer {
  const algorithm = signatureAlgorithmIdentifier(spec.scheme);
  const cert = new pkijs.Certificate({
    version: 2,
    serialNumber: new asn1js.Integer({ valueHex: spec.serial ?? serialNumber() }),
    signature: algorithm,
    signatureAlgorithm: algorithm,
    issuer: spec.issuer,
    subject: spec.subject,
    notBefore: time(spec.notBefore),
    notAfter: time(spec.notAfter),
    subjectPublicKeyInfo: new pkijs.PublicKeyInfo({ schema: parseDer(spec.spki, 'certificate key') }),
    extensions: [...spec.extensions, extension('2.5.29.14', false, new asn1js.OctetString({ valueHex: computeKeyIdentifier(spec.spki) }))],
  });
  cert.tbsView = new Uint8Array(cert.encodeTBS().toBER(false));
  cert.signatureValue = new asn1js.BitString({ valueHex: createSignature(spec.scheme, spec.signingKey, cert.tbsView) });
  return Buffer.from(cert.toSchema(false).toBER(false));
}

// ---------------------------------------------------------------------------------------------------------
// CSCA

export interface CscaMaterial {
  algorithm: PassportAlgorithm;
  certificateDer: Buffer;
  certificatePem: string;
  privateKeyPem: string;
}

export interface CscaOptions {
  algorithm?: PassportAlgorithm;
  issuingState?: string;
  now?: Date;
  /** Reuse this subject DN (a rogue CSCA impersonating a real one). */
  subjectFrom?: CscaMaterial;
}

/** A self-signed CSCA: basicConstraints CA with pathLen 0, keyUsage keyCertSign + cRLSign (Doc 9303-12 §7.1). */
export function generateCsca(options: CscaOptions = {}): CscaMaterial {
  const algorithm = options.algorithm ?? 'ecdsa-p256';
  const state = options.issuingState ?? 'UTO';
  const now = options.now ?? new Date();
  const profile = PROFILES[algorithm];
  const keys = generateKeys(profile);
  const subject = options.subjectFrom
    ? parsedCertificate(options.subjectFrom).subject
    : distinguishedName(certificateCountry(state), `${state} Synthetic Passport Authority`, `CSCA ${state} ${algorithm}`);
  const der = buildCertificate({
    issuer: subject,
    subject,
    notBefore: new Date(now.getTime() - YEAR),
    notAfter: new Date(now.getTime() + 15 * YEAR),
    spki: keys.spki,
    extensions: [extension('2.5.29.19', true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 }).toSchema()), keyUsage(0x06, 1)],
    signingKey: keys.privateKey,
    scheme: profile.scheme,
  });
  return {
    algorithm,
    certificateDer: der,
    certificatePem: toPem(der, 'CERTIFICATE'),
    privateKeyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function parsedCertificate(csca: CscaMaterial): pkijs.Certificate {
  return new pkijs.Certificate({ schema: parseDer(csca.certificateDer, 'CSCA certificate') });
}

interface Signer {
  certificateDer: Buffer;
  privateKey: KeyObject;
  scheme: SignatureScheme;
}

/** An end-entity certificate issued by `csca` with keyUsage digitalSignature (DS or master list signer). */
function issueSigner(csca: CscaMaterial, options: { commonName: string; notBefore: Date; notAfter: Date; algorithm: PassportAlgorithm }): Signer {
  const profile = PROFILES[options.algorithm];
  const keys = generateKeys(profile);
  const issuer = parsedCertificate(csca);
  const issuerKeyId = computeKeyIdentifier(Buffer.from(issuer.subjectPublicKeyInfo.toSchema().toBER(false)));
  const country = issuer.subject.typesAndValues.find((t) => t.type === '2.5.4.6')?.value.valueBlock.value ?? 'UT';
  const der = buildCertificate({
    issuer: issuer.subject,
    subject: distinguishedName(country, 'Synthetic Document Signing', options.commonName),
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    spki: keys.spki,
    extensions: [keyUsage(0x80, 7), authorityKeyIdentifier(issuerKeyId)],
    signingKey: createPrivateKey(csca.privateKeyPem),
    scheme: PROFILES[csca.algorithm].scheme,
  });
  return { certificateDer: der, privateKey: keys.privateKey, scheme: profile.scheme };
}

/** A CRL signed by `csca` that revokes the given serial numbers. */
export function generateCrl(csca: CscaMaterial, revokedSerials: Buffer[], now = new Date()): Buffer {
  const issuer = parsedCertificate(csca);
  const scheme = PROFILES[csca.algorithm].scheme;
  const algorithm = signatureAlgorithmIdentifier(scheme);
  const crl = new pkijs.CertificateRevocationList({
    version: 1,
    signature: algorithm,
    signatureAlgorithm: algorithm,
    issuer: issuer.subject,
    thisUpdate: time(new Date(now.getTime() - DAY)),
    nextUpdate: time(new Date(now.getTime() + 30 * DAY)),
    revokedCertificates: revokedSerials.map(
      (serial) =>
        new pkijs.RevokedCertificate({ userCertificate: new asn1js.Integer({ valueHex: serial }), revocationDate: time(new Date(now.getTime() - DAY)) }),
    ),
    crlExtensions: new pkijs.Extensions({
      extensions: [authorityKeyIdentifier(computeKeyIdentifier(Buffer.from(issuer.subjectPublicKeyInfo.toSchema().toBER(false))))],
    }),
  });
  // encodeTBS is protected on CRLs; toSchema(true) encodes the TBSCertList as its first element.
  const [tbs] = childrenOf(crl.toSchema(true));
  crl.tbsView = new Uint8Array((tbs as asn1js.Sequence).toBER(false));
  crl.signatureValue = new asn1js.BitString({ valueHex: createSignature(scheme, createPrivateKey(csca.privateKeyPem), crl.tbsView) });
  return Buffer.from(crl.toSchema(false).toBER(false));
}

// ---------------------------------------------------------------------------------------------------------
// CMS SignedData

interface SignedDataOptions {
  eContentType: string;
  eContent: Buffer;
  signer: Signer;
  hash: HashName;
  nullDigestParams: boolean;
  sidBySki: boolean;
  signingTime: Date;
  /** Test defects: a wrong messageDigest, or a signature over the [0]-tagged attributes. */
  defect?: 'bad-message-digest' | 'signed-as-[0]';
}

/** DER of ContentInfo { signedData } with one SignerInfo carrying contentType, signingTime, messageDigest. */
function buildSignedData(o: SignedDataOptions): Buffer {
  const messageDigest = digest(o.hash, o.eContent);
  if (o.defect === 'bad-message-digest') messageDigest[0] = (messageDigest[0] as number) ^ 0xff;
  const attributes = [
    new pkijs.Attribute({ type: ATTRIBUTES.contentType, values: [new asn1js.ObjectIdentifier({ value: o.eContentType })] }),
    new pkijs.Attribute({ type: ATTRIBUTES.signingTime, values: [new asn1js.UTCTime({ valueDate: o.signingTime })] }),
    new pkijs.Attribute({ type: ATTRIBUTES.messageDigest, values: [new asn1js.OctetString({ valueHex: messageDigest })] }),
  ];
  // DER orders SET OF by encoding; verifiers that re-encode (OpenSSL) would otherwise see other bytes.
  const der = (a: pkijs.Attribute) => Buffer.from(a.toSchema().toBER(false));
  attributes.sort((a, b) => Buffer.compare(der(a), der(b)));
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes });
  const toSign = Buffer.from(signedAttrs.toSchema().toBER(false));
  if (o.defect !== 'signed-as-[0]') toSign[0] = 0x31;
  const dsCert = new pkijs.Certificate({ schema: parseDer(o.signer.certificateDer, 'signer certificate') });
  const sid = o.sidBySki
    ? new asn1js.Primitive({
        idBlock: { tagClass: 3, tagNumber: 0 },
        valueHex: computeKeyIdentifier(Buffer.from(dsCert.subjectPublicKeyInfo.toSchema().toBER(false))),
      })
    : new pkijs.IssuerAndSerialNumber({ issuer: dsCert.issuer, serialNumber: dsCert.serialNumber });
  const digestAlgorithm = digestAlgorithmIdentifier(o.hash, o.nullDigestParams);
  const signerInfo = new pkijs.SignerInfo({
    version: o.sidBySki ? 3 : 1,
    sid,
    digestAlgorithm,
    signedAttrs,
    signatureAlgorithm: signatureAlgorithmIdentifier(o.signer.scheme),
    signature: new asn1js.OctetString({ valueHex: createSignature(o.signer.scheme, o.signer.privateKey, toSign) }),
  });
  const encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: o.eContentType });
  // Assigned after construction: the constructor would split the OCTET STRING into BER chunks.
  encapContentInfo.eContent = new asn1js.OctetString({ valueHex: o.eContent });
  const signedData = new pkijs.SignedData({
    version: 3,
    digestAlgorithms: [digestAlgorithm],
    encapContentInfo,
    certificates: [dsCert],
    signerInfos: [signerInfo],
  });
  const contentInfo = new pkijs.ContentInfo({ contentType: CONTENT_TYPES.signedData, content: signedData.toSchema(true) });
  return Buffer.from(contentInfo.toSchema().toBER(false));
}

/**
 * A CSCA master list (Doc 9303-12 §9) listing `certificates`, signed by a master list signer that
 * `signerCsca` issues.
 */
export function generateMasterList(certificates: Buffer[], signerCsca: CscaMaterial, now = new Date()): Buffer {
  const signer = issueSigner(signerCsca, {
    commonName: 'Master List Signer',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + YEAR),
    algorithm: signerCsca.algorithm,
  });
  const list = new asn1js.Sequence({
    value: [new asn1js.Integer({ value: 0 }), new asn1js.Set({ value: certificates.map((der) => parseDer(der, 'master list entry')) })],
  });
  const profile = PROFILES[signerCsca.algorithm];
  return buildSignedData({
    eContentType: CONTENT_TYPES.cscaMasterList,
    eContent: Buffer.from(list.toBER(false)),
    signer,
    hash: profile.hash,
    nullDigestParams: profile.nullDigestParams,
    sidBySki: false,
    signingTime: now,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Passport

export interface PassportOptions {
  lastName?: string;
  firstName?: string;
  /** Printed ICAO code, e.g. "UTO", "NLD", "D". */
  nationality?: string;
  /** YYYY-MM-DD. */
  dateOfBirth?: string;
  gender?: Sex;
  documentNumber?: string;
  /** Date of expiry, YYYY-MM-DD (default: five years from now). */
  expiry?: string;
  issuingState?: string;
  algorithm?: PassportAlgorithm;
  /** Active Authentication key in DG15; 'none' makes a document without AA. */
  aaKey?: 'rsa' | 'ecdsa' | 'none';
  variant?: PassportVariant;
  /** The holder's photo for DG2, from `preparePhoto` (default: a tiny built-in sample JPEG). */
  photo?: DocumentPhoto;
  /** Reuse a CSCA (tests cache one per algorithm: RSA key generation is slow). */
  csca?: CscaMaterial;
  now?: Date;
}

export interface PassportFiles {
  'EF_COM.bin': Buffer;
  'EF_SOD.bin': Buffer;
  'EF_DG1.bin': Buffer;
  'EF_DG2.bin': Buffer;
  'EF_DG14.bin'?: Buffer;
  'EF_DG15.bin'?: Buffer;
}

export interface GeneratedPassport {
  files: PassportFiles;
  mrz: string[];
  algorithm: PassportAlgorithm;
  variant?: PassportVariant;
  /** The CSCA a verifier should trust (for `untrusted-csca`, not the one that signed). */
  csca: CscaMaterial;
  cscaPem: string;
  dsCertificatePem: string;
  /** For `revoked-ds`: a CRL of the CSCA revoking the DS. */
  crlDer?: Buffer;
  /** The Active Authentication private key (PKCS#8 PEM), to answer challenges like the chip. */
  chipPrivateKeyPem?: string;
}

function addYears(date: Date, years: number): string {
  const d = new Date(date);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.toISOString().slice(0, 10);
}

/** The AA key pair and the files it puts on the chip: DG15, plus DG14 for ECDSA (which names the hash). */
function activeAuthenticationFiles(aaKey: 'rsa' | 'ecdsa'): { privateKeyPem: string; dg15: Buffer; dg14?: Buffer } {
  // Chips use 1024-bit RSA for AA; the ECDSA chip also offers a Chip Authentication key in DG14.
  const pair = aaKey === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 1024 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const dg15 = buildDg15(pair.publicKey.export({ type: 'spki', format: 'der' }));
  const privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  if (aaKey === 'rsa') return { privateKeyPem, dg15 };
  const sha256Plain = Object.entries(ECDSA_PLAIN_OIDS).find(([, h]) => h === 'sha256')?.[0];
  const caKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
  return { privateKeyPem, dg15, dg14: buildDg14({ aaSignatureAlgorithm: sha256Plain, chipAuthenticationKey: caKey }) };
}

/** Generates a passport signed through a fresh DS; `variant` breaks exactly one thing. */
export function generatePassport(options: PassportOptions = {}): GeneratedPassport {
  const now = options.now ?? new Date();
  const algorithm = options.algorithm ?? options.csca?.algorithm ?? 'ecdsa-p256';
  const variant = options.variant;
  const state = options.issuingState ?? 'UTO';
  const profile = PROFILES[algorithm];
  const csca = options.csca ?? generateCsca({ algorithm, issuingState: state, now });
  // The untrusted variant is signed through an impostor CSCA with the same name but its own key.
  const signingCsca = variant === 'untrusted-csca' ? generateCsca({ algorithm: csca.algorithm, issuingState: state, now, subjectFrom: csca }) : csca;
  const dsExpired = variant === 'expired-ds';
  const ds = issueSigner(signingCsca, {
    commonName: `DS ${state} ${algorithm}`,
    notBefore: new Date(now.getTime() - (dsExpired ? 3 * YEAR : 30 * DAY)),
    notAfter: new Date(now.getTime() + (dsExpired ? -30 * DAY : 10 * YEAR)),
    algorithm,
  });

  const person = {
    lastName: options.lastName ?? 'ERIKSSON',
    firstName: options.firstName ?? 'ANNA MARIA',
    nationality: options.nationality ?? state,
    dateOfBirth: options.dateOfBirth ?? '1974-08-12',
    sex: options.gender ?? 'F',
  };
  const mrzInput = {
    format: 'TD3' as const,
    documentCode: 'P',
    issuingState: state,
    documentNumber: options.documentNumber ?? 'L898902C3',
    dateOfExpiry: variant === 'expired-document' ? addYears(now, -1) : (options.expiry ?? addYears(now, 5)),
    ...person,
  };
  const mrz = buildMrz(mrzInput);
  const photo = options.photo ?? SAMPLE_FACE_PHOTO;
  const faceDg2 = (data: Buffer) => buildFaceDg2({ ...photo, data }, { sex: person.sex, createdAt: now, validUntil: new Date(mrzInput.dateOfExpiry) });
  const dataGroups = new Map<number, Buffer>([
    [1, buildDg1(mrz)],
    [2, faceDg2(photo.data)],
  ]);
  const aa = options.aaKey === 'none' ? undefined : activeAuthenticationFiles(options.aaKey ?? 'rsa');
  if (aa?.dg14) dataGroups.set(14, aa.dg14);
  if (aa) dataGroups.set(15, aa.dg15);

  const hashes = new Map([...dataGroups].map(([dg, bytes]) => [dg, digest(profile.hash, bytes)]));
  if (variant === 'missing-dg-in-sod') hashes.delete(2);
  const sod = wrapSod(
    buildSignedData({
      eContentType: CONTENT_TYPES.ldsSecurityObject,
      eContent: buildLdsSecurityObject(profile.hash, hashes, profile.nullDigestParams),
      signer: ds,
      hash: profile.hash,
      nullDigestParams: profile.nullDigestParams,
      sidBySki: profile.sidBySki ?? false,
      signingTime: now,
      defect: variant === 'bad-message-digest' || variant === 'signed-as-[0]' ? variant : undefined,
    }),
  );

  // Tampering happens after signing, as an attacker would do it.
  if (variant === 'tampered-dg1') dataGroups.set(1, buildDg1(buildMrz({ ...mrzInput, lastName: 'MALLORY' })));
  if (variant === 'tampered-dg2') {
    const face = Buffer.from(photo.data);
    face[face.length - 10] = (face[face.length - 10] as number) ^ 0x01;
    dataGroups.set(2, faceDg2(face));
  }

  const files: PassportFiles = {
    'EF_COM.bin': buildCom([...dataGroups.keys()]),
    'EF_SOD.bin': sod,
    'EF_DG1.bin': dataGroups.get(1) as Buffer,
    'EF_DG2.bin': dataGroups.get(2) as Buffer,
  };
  if (aa?.dg14) files['EF_DG14.bin'] = aa.dg14;
  if (aa) files['EF_DG15.bin'] = aa.dg15;
  const dsSerial = new pkijs.Certificate({ schema: parseDer(ds.certificateDer, 'DS') }).serialNumber.valueBlock.valueHexView;
  return {
    files,
    mrz,
    algorithm,
    variant,
    csca,
    cscaPem: csca.certificatePem,
    dsCertificatePem: toPem(ds.certificateDer, 'CERTIFICATE'),
    crlDer: variant === 'revoked-ds' ? generateCrl(csca, [Buffer.from(dsSerial)], now) : undefined,
    chipPrivateKeyPem: aa?.privateKeyPem,
  };
}

/**
 * Writes the chip files (EF_*.bin), `csca.pem`, `ds.pem`, `chip-key.pem` (when the document has AA) and
 * `revoked.crl` (revoked variant) into `dir`. Returns the paths written.
 */
export async function writePassportDirectory(dir: string, passport: GeneratedPassport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const entries: [string, Buffer | string][] = [...Object.entries(passport.files), ['csca.pem', passport.cscaPem], ['ds.pem', passport.dsCertificatePem]];
  if (passport.chipPrivateKeyPem) entries.push(['chip-key.pem', passport.chipPrivateKeyPem]);
  if (passport.crlDer) entries.push(['revoked.crl', passport.crlDer]);
  const paths: string[] = [];
  for (const [name, content] of entries) {
    const path = join(dir, name);
    await writeFile(path, content, name === 'chip-key.pem' ? { mode: 0o600 } : {});
    paths.push(path);
  }
  return paths;
}
