/**
 * Logical Data Structure files (ICAO Doc 9303-10): EF.COM, DG1 (MRZ), DG14 (SecurityInfos) and DG15 (Active
 * Authentication public key), and a DG2 builder; DG2 (face) is read by dg2.ts, which parses the facial record.
 *
 * Each parser takes the raw file exactly as read from the chip (outer tag included: that is what the SOD
 * hashes) and throws `IcaoFormatError` on anything it cannot account for.
 */
import type { KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { ECDSA_PLAIN_OIDS, type HashName, publicKeyFromSpki } from './algorithms.js';
import { asSequence, asSet, childrenOf, oidOf, parseDer, smallIntOf } from './asn1.js';
import { IcaoFormatError, SIZE_LIMITS, checkSize } from './errors.js';
import { type MrzParseOptions, type MrzParseResult, parseMrz } from './mrz.js';
import { encodeTlv, findTlv, readFileTlv, readTlvList } from './tlv.js';

export const TAGS = {
  COM: 0x60,
  DG1: 0x61,
  DG2: 0x75,
  DG14: 0x6e,
  DG15: 0x6f,
  SOD: 0x77,
  MRZ: 0x5f1f,
  BIOMETRIC_GROUP: 0x7f61,
  BIOMETRIC_TEMPLATE: 0x7f60,
  BIOMETRIC_HEADER: 0xa1,
  BIOMETRIC_DATA: 0x5f2e,
  BIOMETRIC_DATA_CONSTRUCTED: 0x7f2e,
} as const;

/** LDS outer tag of each data group number, as listed in EF.COM. */
export const DG_TAGS: Record<number, number> = {
  1: 0x61,
  2: 0x75,
  3: 0x63,
  4: 0x76,
  5: 0x65,
  6: 0x66,
  7: 0x67,
  8: 0x68,
  9: 0x69,
  10: 0x6a,
  11: 0x6b,
  12: 0x6c,
  13: 0x6d,
  14: 0x6e,
  15: 0x6f,
  16: 0x70,
};

// ---------------------------------------------------------------------------------------------------------
// EF.COM — not covered by the SOD, so informative only.

export interface EfCom {
  ldsVersion: string;
  unicodeVersion: string;
  dataGroups: number[];
}

export function parseCom(bytes: Uint8Array): EfCom {
  const buf = Buffer.from(bytes);
  checkSize(buf, SIZE_LIMITS.com, 'EF.COM');
  const items = readTlvList(readFileTlv(buf, TAGS.COM, 'EF.COM').value);
  const tagList = findTlv(items, 0x5c)?.value ?? Buffer.alloc(0);
  const tagToDg = new Map(Object.entries(DG_TAGS).map(([dg, tag]) => [tag, Number(dg)]));
  return {
    ldsVersion: findTlv(items, 0x5f01)?.value.toString('latin1') ?? '',
    unicodeVersion: findTlv(items, 0x5f36)?.value.toString('latin1') ?? '',
    dataGroups: [...tagList].map((t) => tagToDg.get(t)).filter((dg): dg is number => dg !== undefined),
  };
}

export function buildCom(dataGroups: number[]): Buffer {
  const tags = dataGroups.map((dg) => DG_TAGS[dg] ?? 0);
  return encodeTlv(
    TAGS.COM,
    Buffer.concat([encodeTlv(0x5f01, Buffer.from('0107', 'latin1')), encodeTlv(0x5f36, Buffer.from('040000', 'latin1')), encodeTlv(0x5c, Buffer.from(tags))]),
  );
}

// ---------------------------------------------------------------------------------------------------------
// DG1 — the MRZ: 61 L { 5F1F L <MRZ characters, lines concatenated> }

export interface Dg1 {
  mrz: string;
  parsed: MrzParseResult;
}

export function parseDg1(bytes: Uint8Array, options: MrzParseOptions = {}): Dg1 {
  const buf = Buffer.from(bytes);
  checkSize(buf, SIZE_LIMITS.dg1, 'DG1');
  const mrzTlv = findTlv(readTlvList(readFileTlv(buf, TAGS.DG1, 'DG1').value), TAGS.MRZ);
  if (!mrzTlv) throw new IcaoFormatError('BAD_STRUCTURE', 'DG1 has no MRZ (tag 5F1F)');
  const mrz = mrzTlv.value.toString('latin1');
  return { mrz, parsed: parseMrz(mrz, options) };
}

export function buildDg1(mrzLines: readonly string[]): Buffer {
  return encodeTlv(TAGS.DG1, encodeTlv(TAGS.MRZ, Buffer.from(mrzLines.join(''), 'latin1')));
}

// ---------------------------------------------------------------------------------------------------------
// DG14 — SecurityInfos ::= SET OF SecurityInfo { protocol OID, requiredData ANY, optionalData ANY OPTIONAL }

export const SECURITY_OIDS = {
  activeAuthentication: '2.23.136.1.1.5',
  /** id-CA-DH-* and id-CA-ECDH-* share this prefix (BSI TR-03110). */
  chipAuthenticationPrefix: '0.4.0.127.0.7.2.2.3.',
  /** id-PK-DH and id-PK-ECDH. */
  chipAuthenticationPublicKey: ['0.4.0.127.0.7.2.2.1.1', '0.4.0.127.0.7.2.2.1.2'],
} as const;

export interface Dg14 {
  activeAuthentication?: { version: number; signatureAlgorithm: string; hash?: HashName };
  chipAuthentication: { protocol: string; version: number; keyId?: number }[];
  chipAuthenticationPublicKeys: { protocol: string; subjectPublicKeyInfo: Buffer; keyId?: number }[];
  /** Other SecurityInfos (PACE, terminal authentication…), by protocol OID. */
  otherProtocols: string[];
}

export function parseDg14(bytes: Uint8Array): Dg14 {
  const buf = Buffer.from(bytes);
  checkSize(buf, SIZE_LIMITS.dg14, 'DG14');
  const infos = asSet(parseDer(readFileTlv(buf, TAGS.DG14, 'DG14').value, 'DG14 SecurityInfos'), 'DG14 SecurityInfos');
  const result: Dg14 = { chipAuthentication: [], chipAuthenticationPublicKeys: [], otherProtocols: [] };
  for (const item of childrenOf(infos)) {
    const [protocolBlock, required, optional] = childrenOf(asSequence(item, 'SecurityInfo'));
    const protocol = oidOf(protocolBlock, 'SecurityInfo protocol');
    if (protocol === SECURITY_OIDS.activeAuthentication) {
      const signatureAlgorithm = oidOf(optional, 'ActiveAuthenticationInfo signatureAlgorithm');
      result.activeAuthentication = {
        version: smallIntOf(required, 'ActiveAuthenticationInfo version'),
        signatureAlgorithm,
        hash: ECDSA_PLAIN_OIDS[signatureAlgorithm],
      };
    } else if (protocol.startsWith(SECURITY_OIDS.chipAuthenticationPrefix)) {
      const keyId = optional === undefined ? undefined : smallIntOf(optional, 'ChipAuthenticationInfo keyId');
      result.chipAuthentication.push({ protocol, version: smallIntOf(required, 'ChipAuthenticationInfo version'), keyId });
    } else if ((SECURITY_OIDS.chipAuthenticationPublicKey as readonly string[]).includes(protocol)) {
      const spki = asSequence(required, 'ChipAuthenticationPublicKeyInfo key');
      const keyId = optional === undefined ? undefined : smallIntOf(optional, 'ChipAuthenticationPublicKeyInfo keyId');
      result.chipAuthenticationPublicKeys.push({ protocol, subjectPublicKeyInfo: Buffer.from(spki.toBER(false)), keyId });
    } else {
      result.otherProtocols.push(protocol);
    }
  }
  return result;
}

/** DG14 with an ActiveAuthenticationInfo and, optionally, chip authentication key and protocol infos. */
export function buildDg14(options: { aaSignatureAlgorithm?: string; chipAuthenticationKey?: Buffer }): Buffer {
  const infos: asn1js.Sequence[] = [];
  if (options.aaSignatureAlgorithm) {
    infos.push(
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: SECURITY_OIDS.activeAuthentication }),
          new asn1js.Integer({ value: 1 }),
          new asn1js.ObjectIdentifier({ value: options.aaSignatureAlgorithm }),
        ],
      }),
    );
  }
  if (options.chipAuthenticationKey) {
    infos.push(
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: '0.4.0.127.0.7.2.2.1.2' }), // id-PK-ECDH
          parseDer(options.chipAuthenticationKey, 'chip authentication key'),
        ],
      }),
    );
    infos.push(
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: '0.4.0.127.0.7.2.2.3.2.2' }), // id-CA-ECDH-AES-CBC-CMAC-128
          new asn1js.Integer({ value: 1 }),
        ],
      }),
    );
  }
  return encodeTlv(TAGS.DG14, Buffer.from(new asn1js.Set({ value: infos }).toBER(false)));
}

// ---------------------------------------------------------------------------------------------------------
// DG15 — 6F L { SubjectPublicKeyInfo } : the Active Authentication public key.

export interface Dg15 {
  publicKey: KeyObject;
  subjectPublicKeyInfo: Buffer;
}

export function parseDg15(bytes: Uint8Array): Dg15 {
  const buf = Buffer.from(bytes);
  checkSize(buf, SIZE_LIMITS.dg15, 'DG15');
  const spki = readFileTlv(buf, TAGS.DG15, 'DG15').value;
  asSequence(parseDer(spki, 'DG15 SubjectPublicKeyInfo'), 'DG15 SubjectPublicKeyInfo');
  return { publicKey: publicKeyFromSpki(spki), subjectPublicKeyInfo: Buffer.from(spki) };
}

export function buildDg15(subjectPublicKeyInfo: Buffer): Buffer {
  return encodeTlv(TAGS.DG15, subjectPublicKeyInfo);
}
