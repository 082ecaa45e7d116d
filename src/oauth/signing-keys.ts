import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Executor } from '../store/database.js';
import type { DataCipher } from '../security/keyring.js';
import type { Clock } from '../shared/runtime.js';

/**
 * Asymmetric signing keys kept in the database (private halves sealed), so that every instance signs with the same
 * key and verifies every other instance's signatures. The newest key of a purpose signs; a key older than the
 * rotation period is replaced by a new one, and old keys stay published until everything they signed has expired.
 * Each purpose (RP access tokens, issued credentials) has its own keys: a key of one never verifies the other's.
 */
export const TOKEN_ALG = 'ES256';
const CACHE_MS = 60 * 1000;

export type KeyPurpose = 'access-token' | 'credential';

interface ActiveKey {
  kid: string;
  /** Node's own key object: signing goes through `crypto.sign` (see signJwsInput). */
  privateKey: KeyObject;
  createdAt: number;
}

export class SigningKeys {
  private active?: ActiveKey;
  private activeLoadedAt = 0;
  private readonly publicKeys = new Map<string, CryptoKey>();

  constructor(
    private readonly deps: {
      clock: Clock;
      cipher: DataCipher;
      purpose: KeyPurpose;
      rotationMs: number;
      /** The longest lifetime of anything a key signs: a retired key stays published that long. */
      maxSignedLifetimeMs: number;
    },
  ) {}

  /** The key that signs new tokens, creating or rotating it when due. */
  async signingKey(executor: Executor): Promise<ActiveKey> {
    const now = this.deps.clock.now();
    if (this.active && now - this.activeLoadedAt < CACHE_MS && now - this.active.createdAt < this.deps.rotationMs) return this.active;
    const newest = await executor
      .selectFrom('signing_keys')
      .selectAll()
      .where('purpose', '=', this.deps.purpose)
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (newest && now - newest.created_at < this.deps.rotationMs) {
      const jwk = this.deps.cipher.openJson<JWK>(newest.private_jwk_sealed, `signing-key:${newest.kid}`);
      this.active = { kid: newest.kid, privateKey: createPrivateKey({ key: jwk, format: 'jwk' }), createdAt: newest.created_at };
    } else {
      this.active = await this.createKey(executor, now);
    }
    this.activeLoadedAt = now;
    return this.active;
  }

  /** The public key for a kid, or null when the kid is unknown or long retired. */
  async verificationKey(executor: Executor, kid: string): Promise<CryptoKey | null> {
    const cached = this.publicKeys.get(kid);
    if (cached) return cached;
    if (kid.length > 100) return null;
    const row = await executor
      .selectFrom('signing_keys')
      .select(['public_jwk', 'created_at'])
      .where('kid', '=', kid)
      .where('purpose', '=', this.deps.purpose)
      .executeTakeFirst();
    if (!row) return null;
    const key = (await importJWK(JSON.parse(row.public_jwk) as JWK, TOKEN_ALG)) as CryptoKey;
    this.publicKeys.set(kid, key);
    return key;
  }

  /** Published keys: every key that may still have unexpired tokens. */
  async jwks(executor: Executor): Promise<{ keys: JWK[] }> {
    const cutoff = this.deps.clock.now() - this.deps.rotationMs - this.deps.maxSignedLifetimeMs;
    const rows = await executor
      .selectFrom('signing_keys')
      .select('public_jwk')
      .where('purpose', '=', this.deps.purpose)
      .where('created_at', '>', cutoff)
      .orderBy('created_at', 'desc')
      .execute();
    return { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK) };
  }

  private async createKey(executor: Executor, now: number): Promise<ActiveKey> {
    // P-256, the curve of ES256 (RFC 7518 §3.4).
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(publicJwk);
    const published: JWK = { ...publicJwk, kid, alg: TOKEN_ALG, use: 'sig' };
    await executor
      .insertInto('signing_keys')
      .values({
        kid,
        alg: TOKEN_ALG,
        public_jwk: JSON.stringify(published),
        private_jwk_sealed: this.deps.cipher.sealJson(privateKey.export({ format: 'jwk' }), `signing-key:${kid}`),
        created_at: now,
        retired_at: null,
        purpose: this.deps.purpose,
      })
      .execute();
    return { kid, privateKey, createdAt: now };
  }
}

/**
 * A compact JWS (RFC 7515 §7.1) of these header and claims, signed ES256 with a key of SigningKeys. Every JWT this
 * server signs goes through here (access tokens, credentials, status lists); jose and other libraries verify them.
 */
export function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, privateKey: KeyObject): string {
  const input = `${base64urlJson(header)}.${base64urlJson(claims)}`;
  return `${input}.${signJwsInput(input, privateKey)}`;
}

/**
 * The ES256 signature of a JWS signing input, base64url of the raw r||s (RFC 7518 §3.4), made on this thread by
 * Node's crypto: WebCrypto's argument normalisation and thread-pool round trip cost more than the signature itself
 * (about 100 µs of CPU per access token against 50, measured).
 */
export function signJwsInput(signingInput: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

const base64urlJson = (value: Record<string, unknown>): string => Buffer.from(JSON.stringify(value)).toString('base64url');
