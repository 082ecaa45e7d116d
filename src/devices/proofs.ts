import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type CryptoKey, type JWK } from 'jose';

/**
 * The signatures a device makes with its P-256 key, each a compact JWS with its own `typ` so that one kind can
 * never be replayed as another:
 * - `reuseid-activation+jwt`: proof of possession at activation, the public key embedded as `jwk`;
 * - `reuseid-device+jwt`: a signed device request, bound to method, URL, body hash, time and a single-use `jti`;
 * - `reuseid-approval+jwt`: the user's approval (or refusal) of an operation's challenge.
 */
export const DEVICE_ALG = 'ES256';
export const ACTIVATION_TYP = 'reuseid-activation+jwt';
export const REQUEST_TYP = 'reuseid-device+jwt';
export const APPROVAL_TYP = 'reuseid-approval+jwt';
const MAX_JWS_LENGTH = 8192;

export class ProofRejected extends Error {}

export interface DevicePublicKey {
  jwk: JWK;
  thumbprint: string;
}

/** Only public P-256 keys are accepted: hardware keystores (Secure Enclave, StrongBox) produce exactly these. */
export async function validateDeviceJwk(candidate: unknown): Promise<DevicePublicKey> {
  const jwk = candidate as JWK;
  if (!jwk || typeof jwk !== 'object' || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new ProofRejected('the device key must be a P-256 EC public key');
  }
  if ('d' in jwk) throw new ProofRejected('the device key must not contain private key material');
  const publicJwk: JWK = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  try {
    await importJWK(publicJwk, DEVICE_ALG);
  } catch {
    throw new ProofRejected('the device key is not a valid P-256 point');
  }
  return { jwk: publicJwk, thumbprint: await calculateJwkThumbprint(publicJwk) };
}

export interface VerifiedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** Verifies a compact JWS of the given typ with the key (or the embedded jwk when `key` is 'embedded'). */
export async function verifyDeviceJws(jws: string, typ: string, key: CryptoKey | 'embedded'): Promise<VerifiedJws> {
  if (typeof jws !== 'string' || jws.length > MAX_JWS_LENGTH) throw new ProofRejected('malformed signature');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jws) as Record<string, unknown>;
  } catch {
    throw new ProofRejected('malformed signature');
  }
  if (header.alg !== DEVICE_ALG) throw new ProofRejected(`the signature algorithm must be ${DEVICE_ALG}`);
  if (header.typ !== typ) throw new ProofRejected(`the signature must have typ ${typ}`);
  let verificationKey: CryptoKey;
  if (key === 'embedded') {
    const embedded = await validateDeviceJwk(header.jwk);
    verificationKey = (await importJWK(embedded.jwk, DEVICE_ALG)) as CryptoKey;
  } else {
    verificationKey = key;
  }
  try {
    const { payload } = await compactVerify(jws, verificationKey, { algorithms: [DEVICE_ALG] });
    const parsed = JSON.parse(new TextDecoder().decode(payload)) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('payload is not an object');
    return { header, payload: parsed as Record<string, unknown> };
  } catch {
    throw new ProofRejected('the signature does not verify');
  }
}

/** Rejects an `iat` (seconds) outside ±maxAge of now. */
export function checkFreshness(iat: unknown, nowMs: number, maxAgeSeconds: number): number {
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new ProofRejected('iat is required');
  if (Math.abs(nowMs / 1000 - iat) > maxAgeSeconds) throw new ProofRejected('the signature is too old or dated in the future');
  return iat;
}

/** base64url SHA-256 of a request body (empty for none), as carried in a signed request's `bh` claim. */
export function bodyHash(body: Buffer | string | null | undefined): string {
  return createHash('sha256')
    .update(body ?? '')
    .digest('base64url');
}
