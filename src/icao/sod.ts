/**
 * EF.SOD, the Document Security Object (Doc 9303-10 §4.6.2): `77 L ContentInfo`, a CMS SignedData whose
 * encapsulated content is the LDSSecurityObject — the hash of every data group, signed by the Document
 * Signer (DS) whose certificate usually travels in SignedData.certificates.
 */
import * as asn1js from 'asn1js';
import { type HashName, digestAlgorithmIdentifier, hashName } from './algorithms.js';
import { type RawElement, SequenceReader, checkBerFraming, derValue, expectChildren, rawChildren, readOctets, readOid, readSmallInt } from './asn1.js';
import type { CertificateInfo } from './certificates.js';
import { CONTENT_TYPES, type SignedDataContent, type SignerInfoData, findSignerCertificate, parseSignedData } from './cms.js';
import { IcaoFormatError, SIZE_LIMITS, checkSize } from './errors.js';
import { TAGS } from './lds.js';
import { encodeTlv, readFileTlv } from './tlv.js';

export interface LdsSecurityObject {
  version: number;
  hashAlgorithm: string;
  hash: HashName;
  /** Data group number → hash value. */
  dataGroupHashes: Map<number, Buffer>;
  ldsVersion?: string;
  unicodeVersion?: string;
}

export interface Sod {
  signedData: SignedDataContent;
  signer: SignerInfoData;
  lds: LdsSecurityObject;
  /** The DS certificate the SignerInfo names, if SignedData carries it. */
  dsCertificate?: CertificateInfo;
}

/**
 * Issuers put the DS certificate in EF.SOD, some also a link certificate; nothing more is needed for passive
 * authentication (the CSCA comes from the trust store), and each extra certificate is parsing work a sender chooses.
 */
export const MAX_SOD_CERTIFICATES = 2;

/**
 * Parses EF.SOD. Doc 9303 allows exactly one SignerInfo; more would leave it ambiguous which signature
 * vouches for the hashes, so that is a format error.
 */
export function parseSod(bytes: Uint8Array): Sod {
  const buf = Buffer.from(bytes);
  checkSize(buf, SIZE_LIMITS.sod, 'EF.SOD');
  const contentInfo = readFileTlv(buf, TAGS.SOD, 'EF.SOD').value;
  const signedData = parseSignedData(contentInfo, 'EF.SOD', CONTENT_TYPES.ldsSecurityObject, { maxCertificates: MAX_SOD_CERTIFICATES });
  const [signer, ...others] = signedData.signerInfos;
  if (!signer || others.length > 0) {
    throw new IcaoFormatError('BAD_STRUCTURE', `EF.SOD has ${signedData.signerInfos.length} SignerInfos; exactly one is required`);
  }
  return {
    signedData,
    signer,
    lds: parseLdsSecurityObject(signedData.eContent),
    dsCertificate: findSignerCertificate(signer.sid, signedData.certificates),
  };
}

/**
 * LDSSecurityObject ::= SEQUENCE { version INTEGER (v0 | v1), hashAlgorithm AlgorithmIdentifier,
 *   dataGroupHashValues SEQUENCE SIZE (2..16) OF DataGroupHash, ldsVersionInfo LDSVersionInfo OPTIONAL }
 * DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER (1..16), dataGroupHashValue OCTET STRING }
 */
export function parseLdsSecurityObject(der: Uint8Array): LdsSecurityObject {
  checkBerFraming(der, 'LDSSecurityObject'); // eContent is opaque to the SignedData framing check
  const seq = new SequenceReader(der, 'LDSSecurityObject');
  const version = readSmallInt(seq.next(0x02), 'LDSSecurityObject version');
  if (version !== 0 && version !== 1) throw new IcaoFormatError('BAD_STRUCTURE', `LDSSecurityObject version ${version}`);
  // Parameters (NULL or absent, both occur) carry nothing for the hash functions we accept.
  const algorithm = new SequenceReader(seq.next(0x30).bytes, 'LDSSecurityObject hashAlgorithm');
  const hashAlgorithm = readOid(algorithm.next(0x06), 'LDSSecurityObject hashAlgorithm');
  const hash = hashName(hashAlgorithm);
  const dataGroupHashes = dataGroupHashValues(seq.next(0x30));
  const versionInfo = seq.optional(0x30);
  seq.end();
  const result: LdsSecurityObject = { version, hashAlgorithm, hash, dataGroupHashes };
  if (versionInfo !== undefined) {
    const [lds, unicode] = expectChildren(versionInfo.bytes, 'LDSVersionInfo', [0x13, 0x13]);
    result.ldsVersion = derValue(lds, 0x13, 'ldsVersion').toString('latin1');
    result.unicodeVersion = derValue(unicode, 0x13, 'unicodeVersion').toString('latin1');
  }
  return result;
}

function dataGroupHashValues(element: RawElement): Map<number, Buffer> {
  const dataGroupHashes = new Map<number, Buffer>();
  for (const entry of rawChildren(element.bytes, 'dataGroupHashValues')) {
    const [numberElement, valueElement] = expectChildren(entry.bytes, 'DataGroupHash', [0x02, 0x04]);
    const dg = readSmallInt(numberElement, 'dataGroupNumber');
    if (dg < 1 || dg > 16) throw new IcaoFormatError('BAD_STRUCTURE', `data group number ${dg} is outside 1..16`);
    if (dataGroupHashes.has(dg)) throw new IcaoFormatError('BAD_STRUCTURE', `data group ${dg} is listed twice`);
    dataGroupHashes.set(dg, readOctets(valueElement, `DG${dg} hash`));
  }
  if (dataGroupHashes.size === 0) throw new IcaoFormatError('BAD_STRUCTURE', 'LDSSecurityObject lists no data groups');
  return dataGroupHashes;
}

/** DER of an LDSSecurityObject v0 over the given data group hashes. */
export function buildLdsSecurityObject(hash: HashName, hashes: ReadonlyMap<number, Buffer>, nullParams: boolean): Buffer {
  const entries = [...hashes.entries()].sort(([a], [b]) => a - b);
  return Buffer.from(
    new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 0 }),
        digestAlgorithmIdentifier(hash, nullParams).toSchema(),
        new asn1js.Sequence({
          value: entries.map(([dg, value]) => new asn1js.Sequence({ value: [new asn1js.Integer({ value: dg }), new asn1js.OctetString({ valueHex: value })] })),
        }),
      ],
    }).toBER(false),
  );
}

/** Wraps a DER ContentInfo in the EF.SOD application tag 0x77. */
export function wrapSod(contentInfoDer: Buffer): Buffer {
  return encodeTlv(TAGS.SOD, contentInfoDer);
}
