/**
 * Active Authentication (Doc 9303-11 §6.1): the chip proves it holds the private key matching DG15 by
 * signing a challenge chosen by the verifier. Because DG15 is hashed in the SOD, a valid answer to a fresh
 * challenge shows the chip is not a copy of the data.
 *
 * RSA chips answer with ISO/IEC 9796-2 digital signature scheme 1 (partial message recovery); ECDSA chips
 * with a plain r‖s signature whose hash DG14's ActiveAuthenticationInfo names.
 */
import { constants, createPrivateKey, privateDecrypt, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import { HASH_LENGTH, type HashName, digest, rsaPublicOperation, verifySignature } from './algorithms.js';

/** ISO/IEC 10118-3 hash identifiers used in the two-byte trailer `xx CC`. */
const TRAILER_HASH: Record<number, HashName> = { 0x33: 'sha1', 0x34: 'sha256', 0x35: 'sha512', 0x36: 'sha384', 0x38: 'sha224' };
const HASH_TRAILER = Object.fromEntries(Object.entries(TRAILER_HASH).map(([id, hash]) => [hash, Number(id)])) as Record<HashName, number>;

/** Header byte for partial recovery with no padding: bits 01, "more data" bit 1, then 01010. */
const HEADER_PARTIAL_RECOVERY = 0x6a;
const MAX_CHALLENGE = 256;

export interface ActiveAuthenticationResult {
  ok: boolean;
  reason: string;
  /** e.g. "iso9796-2-sha1" or "ecdsa-plain-sha256". */
  algorithm?: string;
}

export interface ActiveAuthenticationInput {
  /** The DG15 key. */
  publicKey: KeyObject;
  challenge: Uint8Array;
  signature: Uint8Array;
  /** From DG14 ActiveAuthenticationInfo (ECDSA chips). */
  ecdsaHash?: HashName;
}

export function verifyActiveAuthentication(input: ActiveAuthenticationInput): ActiveAuthenticationResult {
  if (input.challenge.length === 0 || input.challenge.length > MAX_CHALLENGE) {
    return { ok: false, reason: `challenge of ${input.challenge.length} bytes` };
  }
  const type = input.publicKey.asymmetricKeyType;
  if (type === 'rsa') return verifyIso9796(input.publicKey, input.challenge, input.signature);
  if (type === 'ec') {
    const hash = input.ecdsaHash ?? defaultEcdsaHash(input.publicKey);
    const algorithm = `ecdsa-plain-${hash}`;
    const ok = verifySignature({ kind: 'ecdsa', hash, encoding: 'ieee-p1363' }, input.publicKey, input.challenge, input.signature);
    return { ok, algorithm, reason: ok ? `${algorithm} signature over the challenge verifies` : `${algorithm} signature over the challenge does not verify` };
  }
  return { ok: false, reason: `unsupported Active Authentication key type ${type ?? 'unknown'}` };
}

/** Without DG14 guidance, pick the hash whose size matches the curve (TR-03111 practice). */
function defaultEcdsaHash(key: KeyObject): HashName {
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const bits = Number(/(\d{3})/.exec(curve)?.[1] ?? 256);
  return bits > 384 ? 'sha512' : bits > 256 ? 'sha384' : 'sha256';
}

function modulus(key: KeyObject): bigint {
  const n = key.export({ format: 'jwk' }).n;
  return BigInt(`0x${Buffer.from(n ?? '', 'base64url').toString('hex') || '0'}`);
}

function toFixedBytes(value: bigint, length: number): Buffer {
  return Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex');
}

/**
 * ISO/IEC 9796-2 scheme 1 verification: recover F = sig^e mod n (or n − F when F does not end in the
 * nibble 0xC), check the header and trailer, and compare the recovered hash with Hash(M1 ‖ challenge).
 */
function verifyIso9796(key: KeyObject, challenge: Uint8Array, signature: Uint8Array): ActiveAuthenticationResult {
  const k = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (signature.length !== k) return { ok: false, reason: `signature is ${signature.length} bytes; the modulus is ${k}` };
  let f: Buffer;
  try {
    f = rsaPublicOperation(key, signature);
  } catch {
    return { ok: false, reason: 'signature is not smaller than the modulus' };
  }
  if (((f[k - 1] as number) & 0x0f) !== 0x0c) f = toFixedBytes(modulus(key) - BigInt(`0x${f.toString('hex')}`), k);
  const last = f[k - 1] as number;
  const trailerLength = last === 0xbc ? 1 : last === 0xcc ? 2 : 0;
  const hash = trailerLength === 1 ? 'sha1' : TRAILER_HASH[f[k - 2] as number];
  if (!hash) return { ok: false, reason: 'ISO 9796-2 trailer names no known hash', algorithm: 'iso9796-2' };
  const algorithm = `iso9796-2-${hash}`;
  if (f[0] !== HEADER_PARTIAL_RECOVERY) return { ok: false, reason: 'ISO 9796-2 header is not 0x6A (scheme 1, partial recovery)', algorithm };
  const hashEnd = k - trailerLength;
  const hashStart = hashEnd - HASH_LENGTH[hash];
  if (hashStart <= 1) return { ok: false, reason: 'modulus too short for the hash', algorithm };
  const m1 = f.subarray(1, hashStart);
  const recovered = f.subarray(hashStart, hashEnd);
  const ok = digest(hash, Buffer.concat([m1, challenge])).equals(recovered);
  return {
    ok,
    algorithm,
    reason: ok ? `${algorithm} signature over the challenge verifies` : `${algorithm}: recovered hash does not match Hash(M1 ‖ challenge)`,
  };
}

/**
 * The chip side, for synthetic documents and simulators: answers INTERNAL AUTHENTICATE with the
 * AA private key. RSA keys produce ISO 9796-2 scheme 1 with SHA-1 (trailer 0xBC) unless `hash` says
 * otherwise; EC keys produce plain r‖s ECDSA.
 */
export function signActiveAuthentication(privateKey: KeyObject | string, challenge: Uint8Array, hash?: HashName): Buffer {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType === 'ec') {
    return nodeSign(hash ?? defaultEcdsaHash(key), challenge, { key, dsaEncoding: 'ieee-p1363' });
  }
  const h = hash ?? 'sha1';
  const k = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  const trailer = h === 'sha1' ? Buffer.from([0xbc]) : Buffer.from([HASH_TRAILER[h], 0xcc]);
  const m1 = randomBytes(k - 1 - HASH_LENGTH[h] - trailer.length);
  const f = Buffer.concat([Buffer.from([HEADER_PARTIAL_RECOVERY]), m1, digest(h, Buffer.concat([m1, challenge])), trailer]);
  const s = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, f);
  // ISO 9796-2 with RSA sends min(s, n − s), so the verifier can tell which one it got by F's last nibble.
  const n = modulus(key);
  const sValue = BigInt(`0x${s.toString('hex')}`);
  return toFixedBytes(sValue < n - sValue ? sValue : n - sValue, k);
}
