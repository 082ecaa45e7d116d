import { type Keyring, safeEqual } from '../security/keyring.js';
import type { Clock, RandomSource } from '../shared/runtime.js';

/**
 * `c_nonce` values of the nonce endpoint (OpenID4VCI 1.0 §7): stateless, so that an unauthenticated caller asking for
 * nonces makes the server write nothing. A nonce is its expiry and 16 random bytes, MACed with a key derived from the
 * master key; any instance can check it. What keeps a proof from being used twice is the access token it is sent
 * with, which obtains one credential only (offers.ts).
 */
const PURPOSE = 'openid4vci-c-nonce';
export const C_NONCE_LIFETIME_SECONDS = 300;
const MAX_NONCE_LENGTH = 200;

export type NonceCheck = 'valid' | 'expired' | 'invalid';

export class CNonces {
  constructor(private readonly deps: { clock: Clock; random: RandomSource; keyring: Keyring }) {}

  issue(): string {
    const expiry = Buffer.alloc(8);
    expiry.writeBigUInt64BE(BigInt(this.deps.clock.now() + C_NONCE_LIFETIME_SECONDS * 1000));
    const body = Buffer.concat([expiry, this.deps.random.bytes(16)]).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  check(nonce: unknown): NonceCheck {
    if (typeof nonce !== 'string' || nonce.length > MAX_NONCE_LENGTH) return 'invalid';
    const [body, mac, ...rest] = nonce.split('.');
    if (!body || !mac || rest.length > 0 || !safeEqual(mac, this.mac(body))) return 'invalid';
    const raw = Buffer.from(body, 'base64url');
    if (raw.length !== 24) return 'invalid';
    return Number(raw.readBigUInt64BE(0)) > this.deps.clock.now() ? 'valid' : 'expired';
  }

  private mac(body: string): string {
    return this.deps.keyring.keyedHash(PURPOSE, body);
  }
}
