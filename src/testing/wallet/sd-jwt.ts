import { digest } from '@sd-jwt/crypto-nodejs';
import { type SDJWTVCConfig, SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

/** An SD-JWT VC instance with SHA-256 (the only digest the issuer uses), and whatever signers and verifiers the caller adds. */
export function sdJwtVc(config: SDJWTVCConfig = {}): SDJwtVcInstance {
  return new SDJwtVcInstance({ hasher: digest, hashAlg: 'sha-256', ...config });
}

/** The registered and structural claims of an SD-JWT VC (SD-JWT VC §3.2.2), which describe the credential rather than the person. */
const STRUCTURAL = new Set(['iss', 'iat', 'exp', 'nbf', 'vct', 'vct#integrity', 'cnf', 'status', '_sd_alg']);

/** The claims about the holder, as far as they are disclosed, by name (disclosures come in no particular order). */
export function personClaims(payload: Record<string, unknown>): Record<string, unknown> {
  const entries = Object.entries(payload).filter(([name]) => !STRUCTURAL.has(name));
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export const isoSeconds = (seconds: unknown): string | null => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null);
