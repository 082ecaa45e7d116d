import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeProtectedHeader } from 'jose';
import type { Config } from '../config.js';
import type { Clock } from '../shared/runtime.js';
import type { Db, Executor } from '../store/database.js';
import { errors } from '../shared/errors.js';
import { isUniqueViolation } from '../store/database.js';
import { devicePublicKey, findDevice, type Device } from './device-store.js';
import { bodyHash, checkFreshness, ProofRejected, REQUEST_TYP, verifyDeviceJws } from './proofs.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The device that signed the request, once its signature and body have been verified; null before. */
    device: Device | null;
    /** The exact JSON body bytes (a signed request's `bh` covers them); null when the request had no JSON body. */
    rawBody: Buffer | null;
    /** The body's `bh`-style hash, computed as it streamed in, for routes whose parser never holds the body whole. */
    bodyDigest: string | null;
    /** A request whose signature verified before its body was read: the signer and the body hash it declared. */
    signedClaim: SignedClaim | null;
  }
}

export interface SignedClaim {
  device: Device;
  bodyHash: unknown;
}

/** Declares the device API's request fields on the requests of the plugin that sets them. */
export function decorateDeviceRequest(app: FastifyInstance): void {
  app.decorateRequest('device', null);
  app.decorateRequest('rawBody', null);
  app.decorateRequest('bodyDigest', null);
  app.decorateRequest('signedClaim', null);
}

export const DEVICE_AUTH_SCHEME = 'ReuseID-Device';
/** The name of the signed-request scheme in the OpenAPI document's securitySchemes. */
export const DEVICE_SECURITY_SCHEME = 'deviceSignature';

/** What device authentication needs: the devices and nonces tables, the time, and the URL devices sign. */
export interface DeviceAuthDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'publicUrl' | 'deviceProofMaxAgeSeconds'>;
}

/**
 * Authenticates a signed device request: `Authorization: ReuseID-Device <JWS>` whose header names the device
 * (`kid`) and whose payload binds the method (`htm`), the full URL (`htu`), the body hash (`bh`), the time (`iat`)
 * and a single-use `jti`. The jti is recorded in the database, so a replay is refused by every instance.
 *
 * Two steps, so that a stranger's body is never read: `verifySignature` (onRequest) checks everything the headers
 * carry and remembers the declared `bh`; `checkSignedBody` (preValidation, once the body is read) compares it with
 * the body received and only then names the device on the request.
 */
export function verifySignature(deps: DeviceAuthDeps) {
  return async (request: FastifyRequest): Promise<void> => {
    const jws = presentedSignature(request);
    if (!jws) throw errors.deviceUnauthenticated(`A signed device request (Authorization: ${DEVICE_AUTH_SCHEME} …) is required.`);
    await asDeviceError(async () => {
      const kid = kidOf(jws);
      const device = kid ? await findDevice(deps.db, kid) : null;
      if (!device) throw new ProofRejected('unknown device');
      const { payload } = await verifyDeviceJws(jws, REQUEST_TYP, await devicePublicKey(device));
      const now = deps.clock.now();
      const iat = checkFreshness(payload.iat, now, deps.config.deviceProofMaxAgeSeconds);
      if (payload.htm !== request.method) throw new ProofRejected('htm does not match the request method');
      if (payload.htu !== `${deps.config.publicUrl}${request.url}`) throw new ProofRejected('htu does not match the request URL');
      if (typeof payload.jti !== 'string' || payload.jti.length < 16 || payload.jti.length > 128)
        throw new ProofRejected('a jti of 16–128 characters is required');
      await recordNonce(deps.db, device.id, payload.jti, (iat + deps.config.deviceProofMaxAgeSeconds) * 1000 + 1000);
      if (device.state !== 'ACTIVE') throw new ProofRejected(`the device is ${device.state.toLowerCase()}`);
      request.signedClaim = { device, bodyHash: payload.bh };
    });
  };
}

/**
 * preValidation: the body read is the one the device signed; then the request is the device's. The body's hash is
 * the one its parser computed as it streamed in (`bodyDigest`), else that of the bytes it kept (`rawBody`).
 */
export async function checkSignedBody(request: FastifyRequest): Promise<void> {
  await checkBodyHash(request, request.bodyDigest ?? bodyHash(request.rawBody));
}

/** Compares the body hash the device signed with `received`, that of the body actually read. */
async function checkBodyHash(request: FastifyRequest, received: string): Promise<void> {
  const claim = request.signedClaim;
  if (!claim) throw new Error('route used without verifySignature');
  await asDeviceError(async () => {
    if (claim.bodyHash !== received) throw new ProofRejected('bh does not match the request body');
  });
  request.device = claim.device;
}

async function asDeviceError(check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    if (error instanceof ProofRejected) throw errors.deviceUnauthenticated(`Device authentication failed: ${error.message}.`);
    throw error;
  }
}

function presentedSignature(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const prefix = `${DEVICE_AUTH_SCHEME} `;
  return header.startsWith(prefix) ? header.slice(prefix.length).trim() : undefined;
}

/** The JWS header's `kid` when it could be a device ID (a string of at most 100 characters); unverified. */
function kidOf(jws: string): string | undefined {
  try {
    const { kid } = decodeProtectedHeader(jws);
    return typeof kid === 'string' && kid.length <= 100 ? kid : undefined;
  } catch {
    return undefined;
  }
}

async function recordNonce(db: Db, deviceId: string, jti: string, expiresAt: number): Promise<void> {
  try {
    await db.insertInto('device_request_nonces').values({ device_id: deviceId, jti, expires_at: expiresAt }).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw new ProofRejected('the request was already used (replay)');
    throw error;
  }
}

export function deviceOf(request: FastifyRequest): Device {
  if (!request.device) throw new Error('route used without checkSignedBody');
  return request.device;
}

/** Forgets request ids that can no longer be replayed: their signature is too old to be accepted anyway. */
export async function purgeSpentNonces(executor: Executor, now: number): Promise<void> {
  await executor.deleteFrom('device_request_nonces').where('expires_at', '<', now).execute();
}
