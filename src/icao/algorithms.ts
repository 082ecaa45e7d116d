/**
 * Algorithm identifiers met in ePassports and their verification with node:crypto.
 *
 * Why node:crypto and not WebCrypto: many states sign with brainpool curves, often with the domain
 * parameters spelled out in the certificate ("explicit parameters", as Doc 9303-12 allows). WebCrypto
 * rejects both; OpenSSL behind node:crypto loads such keys with `createPublicKey` and verifies normally.
 */
import { constants, createHash, createPublicKey, publicEncrypt, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { IcaoFormatError, guard } from './errors.js';

export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export const HASH_OIDS: Record<string, HashName> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export const OID_BY_HASH: Record<HashName, string> = {
  sha1: '1.3.14.3.2.26',
  sha224: '2.16.840.1.101.3.4.2.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

export const HASH_LENGTH: Record<HashName, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  ecPublicKey: '1.2.840.10045.2.1',
  primeField: '1.2.840.10045.1.1',
} as const;

const RSA_PKCS1_OIDS: Record<string, HashName> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

const ECDSA_OIDS: Record<string, HashName> = {
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

/** BSI TR-03111 "plain" ECDSA (r‖s, not DER), used by Active Authentication with ECDSA keys. */
export const ECDSA_PLAIN_OIDS: Record<string, HashName> = {
  '0.4.0.127.0.7.1.1.4.1.1': 'sha1',
  '0.4.0.127.0.7.1.1.4.1.2': 'sha224',
  '0.4.0.127.0.7.1.1.4.1.3': 'sha256',
  '0.4.0.127.0.7.1.1.4.1.4': 'sha384',
  '0.4.0.127.0.7.1.1.4.1.5': 'sha512',
};

export interface SignatureScheme {
  kind: 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa';
  hash: HashName;
  /** ECDSA signature encoding: DER SEQUENCE{r,s} in CMS and X.509, plain r‖s in AA. */
  encoding?: 'der' | 'ieee-p1363';
  /** RSASSA-PSS only. */
  mgf1Hash?: HashName;
  saltLength?: number;
}

export function hashName(oid: string): HashName {
  const hash = HASH_OIDS[oid];
  if (!hash) throw new IcaoFormatError('UNSUPPORTED_ALGORITHM', `unknown digest algorithm ${oid}`);
  return hash;
}

export function digest(hash: HashName, data: Uint8Array): Buffer {
  return createHash(hash).update(data).digest();
}

/** A short label for reports: "ecdsa-with-sha256", "rsassa-pss(sha256, mgf1-sha256, salt 32)". */
export function describeScheme(s: SignatureScheme): string {
  if (s.kind === 'rsa-pss') return `rsassa-pss(${s.hash}, mgf1-${s.mgf1Hash}, salt ${s.saltLength})`;
  if (s.kind === 'ecdsa') return `ecdsa-with-${s.hash}${s.encoding === 'ieee-p1363' ? '-plain' : ''}`;
  return `${s.hash}-with-rsa`;
}

/**
 * Maps a signature AlgorithmIdentifier to a scheme. `digestHint` serves SignerInfos that name only the
 * key type (rsaEncryption or id-ecPublicKey) as signature algorithm, which some issuers do: the hash
 * is then the SignerInfo digestAlgorithm.
 */
export function signatureScheme(alg: pkijs.AlgorithmIdentifier, digestHint?: HashName): SignatureScheme {
  const oid = alg.algorithmId;
  const rsaHash = RSA_PKCS1_OIDS[oid];
  if (rsaHash) return { kind: 'rsa-pkcs1', hash: rsaHash };
  const ecHash = ECDSA_OIDS[oid];
  if (ecHash) return { kind: 'ecdsa', hash: ecHash, encoding: 'der' };
  const plainHash = ECDSA_PLAIN_OIDS[oid];
  if (plainHash) return { kind: 'ecdsa', hash: plainHash, encoding: 'ieee-p1363' };
  if (oid === OID.rsassaPss) return cachedPssScheme(alg);
  if (digestHint && oid === OID.rsaEncryption) return { kind: 'rsa-pkcs1', hash: digestHint };
  if (digestHint && oid === OID.ecPublicKey) return { kind: 'ecdsa', hash: digestHint, encoding: 'der' };
  throw new IcaoFormatError('UNSUPPORTED_ALGORITHM', `unknown signature algorithm ${oid}`);
}

/** Parsed PSS parameters per AlgorithmIdentifier object: cms.ts hands out one object per distinct encoding. */
const pssSchemes = new WeakMap<pkijs.AlgorithmIdentifier, SignatureScheme>();

function cachedPssScheme(alg: pkijs.AlgorithmIdentifier): SignatureScheme {
  let scheme = pssSchemes.get(alg);
  if (!scheme) {
    scheme = pssScheme(alg.algorithmParams);
    pssSchemes.set(alg, scheme);
  }
  return scheme;
}

/** RSASSA-PSS-params; absent fields take the RFC 4055 defaults (SHA-1, MGF1-SHA-1, salt 20, trailer 1). */
function pssScheme(params: unknown): SignatureScheme {
  if (params === undefined || params instanceof asn1js.Null) {
    return { kind: 'rsa-pss', hash: 'sha1', mgf1Hash: 'sha1', saltLength: 20 };
  }
  const parsed = guard('BAD_STRUCTURE', 'RSASSA-PSS parameters', () => new pkijs.RSASSAPSSParams({ schema: params }));
  const hash = hashName(parsed.hashAlgorithm.algorithmId);
  if (parsed.maskGenAlgorithm.algorithmId !== OID.mgf1) {
    throw new IcaoFormatError('UNSUPPORTED_ALGORITHM', `unknown PSS mask generation ${parsed.maskGenAlgorithm.algorithmId}`);
  }
  const mgfParams = parsed.maskGenAlgorithm.algorithmParams;
  const mgf1Hash = mgfParams
    ? hashName(guard('BAD_STRUCTURE', 'MGF1 parameters', () => new pkijs.AlgorithmIdentifier({ schema: mgfParams })).algorithmId)
    : 'sha1';
  if (parsed.trailerField !== 1) throw new IcaoFormatError('UNSUPPORTED_ALGORITHM', `PSS trailer field ${parsed.trailerField}`);
  if (!Number.isInteger(parsed.saltLength) || parsed.saltLength < 0 || parsed.saltLength > 512) {
    throw new IcaoFormatError('BAD_STRUCTURE', `PSS salt length ${parsed.saltLength}`);
  }
  return { kind: 'rsa-pss', hash, mgf1Hash, saltLength: parsed.saltLength };
}

/** Loads a SubjectPublicKeyInfo (named or explicit EC parameters, RSA, RSA-PSS) as a KeyObject. */
export function publicKeyFromSpki(spki: Uint8Array): KeyObject {
  return guard('BAD_KEY', 'public key', () => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
}

/** "RSA-2048", "EC brainpoolP256r1", for reports. */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return `EC ${details.namedCurve ?? 'unknown curve'}`;
  return `${(key.asymmetricKeyType ?? 'unknown').toUpperCase()}-${details.modulusLength ?? '?'}`;
}

/**
 * Verifies `signature` over `data`. Returns false for any mismatch, including a malformed signature or a
 * key of the wrong type; never throws, because every input here may be hostile.
 */
export function verifySignature(scheme: SignatureScheme, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (scheme.kind === 'ecdsa') {
      if (key.asymmetricKeyType !== 'ec') return false;
      const encoding = scheme.encoding ?? 'der';
      if (nodeVerify(scheme.hash, data, { key, dsaEncoding: encoding }, signature)) return true;
      // Some issuers put plain r‖s where DER is due; accept it when the bytes cannot be DER anyway.
      return encoding === 'der' && signature[0] !== 0x30 && nodeVerify(scheme.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') return false;
    if (scheme.kind === 'rsa-pkcs1') {
      return nodeVerify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    }
    const mgf1Hash = scheme.mgf1Hash ?? scheme.hash;
    const saltLength = scheme.saltLength ?? HASH_LENGTH[scheme.hash];
    // OpenSSL ties the MGF1 hash to the message hash; the rare mixed case is checked by hand.
    if (mgf1Hash !== scheme.hash) return verifyPssManually(key, digest(scheme.hash, data), signature, scheme.hash, mgf1Hash, saltLength);
    return nodeVerify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
  } catch {
    return false;
  }
}

/** Signs with the same scheme model (used by the synthetic passport generator and the chip simulator). */
export function createSignature(scheme: SignatureScheme, key: KeyObject, data: Uint8Array): Buffer {
  if (scheme.kind === 'ecdsa') return nodeSign(scheme.hash, data, { key, dsaEncoding: scheme.encoding ?? 'der' });
  if (scheme.kind === 'rsa-pkcs1') return nodeSign(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PADDING });
  if ((scheme.mgf1Hash ?? scheme.hash) !== scheme.hash) {
    throw new IcaoFormatError('UNSUPPORTED_ALGORITHM', 'signing with a different MGF1 hash is not supported');
  }
  return nodeSign(scheme.hash, data, {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: scheme.saltLength ?? HASH_LENGTH[scheme.hash],
  });
}

/** MGF1 (RFC 8017 B.2.1). */
export function mgf1(hash: HashName, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * HASH_LENGTH[hash] < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(digest(hash, Buffer.concat([seed, c])));
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** The RSA public operation s^e mod n, left-padded to the modulus length. */
export function rsaPublicOperation(key: KeyObject, signature: Uint8Array): Buffer {
  return publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, Buffer.from(signature));
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) over the RSA public operation, for MGF1 hashes OpenSSL cannot take. */
function verifyPssManually(key: KeyObject, mHash: Buffer, signature: Uint8Array, hash: HashName, mgf: HashName, saltLength: number): boolean {
  const modBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = HASH_LENGTH[hash];
  const full = rsaPublicOperation(key, signature);
  const em = full.subarray(full.length - emLen);
  if (full.length - emLen > 0 && full[0] !== 0) return false;
  if (emLen < hLen + saltLength + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const mask = mgf1(mgf, h, maskedDb.length);
  const db = Buffer.from(maskedDb.map((b, i) => b ^ (mask[i] as number)));
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  const psLen = emLen - hLen - saltLength - 2;
  if (!db.subarray(0, psLen).every((b) => b === 0) || db[psLen] !== 0x01) return false;
  const salt = db.subarray(db.length - saltLength);
  const hPrime = digest(hash, Buffer.concat([Buffer.alloc(8), mHash, salt]));
  return hPrime.equals(h);
}

/** AlgorithmIdentifier for building: `withNull` adds the NULL parameter (both forms occur in real SODs). */
export function digestAlgorithmIdentifier(hash: HashName, withNull: boolean): pkijs.AlgorithmIdentifier {
  return new pkijs.AlgorithmIdentifier({
    algorithmId: OID_BY_HASH[hash],
    ...(withNull ? { algorithmParams: new asn1js.Null() } : {}),
  });
}

/** The signatureAlgorithm AlgorithmIdentifier for a scheme, as a CMS or X.509 producer would write it. */
export function signatureAlgorithmIdentifier(scheme: SignatureScheme): pkijs.AlgorithmIdentifier {
  if (scheme.kind === 'ecdsa') {
    const table = scheme.encoding === 'ieee-p1363' ? ECDSA_PLAIN_OIDS : ECDSA_OIDS;
    return new pkijs.AlgorithmIdentifier({ algorithmId: oidFor(table, scheme.hash) });
  }
  if (scheme.kind === 'rsa-pkcs1') {
    return new pkijs.AlgorithmIdentifier({ algorithmId: oidFor(RSA_PKCS1_OIDS, scheme.hash), algorithmParams: new asn1js.Null() });
  }
  const params = new pkijs.RSASSAPSSParams({
    hashAlgorithm: digestAlgorithmIdentifier(scheme.hash, true),
    maskGenAlgorithm: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.mgf1,
      algorithmParams: digestAlgorithmIdentifier(scheme.mgf1Hash ?? scheme.hash, true).toSchema(),
    }),
    saltLength: scheme.saltLength ?? HASH_LENGTH[scheme.hash],
  });
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsassaPss, algorithmParams: params.toSchema() });
}

function oidFor(table: Record<string, HashName>, hash: HashName): string {
  const entry = Object.entries(table).find(([, h]) => h === hash);
  if (!entry) throw new IcaoFormatError('UNSUPPORTED_ALGORITHM', `no OID for ${hash}`);
  return entry[0];
}
