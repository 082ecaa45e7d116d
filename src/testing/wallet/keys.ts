import { createPrivateKey, type JsonWebKey, sign } from 'node:crypto';
import { decodeProtectedHeader, flattenedVerify, importJWK, type JWK } from 'jose';
import { z } from 'zod';
import { WalletError } from './errors.js';
import { checkIdentifier, checkUrl, type Fetch, jsonBody, send, wellKnownUrl } from './http.js';

/**
 * Keys and signatures: the issuer's keys as a verifier finds them (SD-JWT VC §5, `/.well-known/jwt-vc-issuer`), and
 * ES256 signing and verification shaped as the @sd-jwt packages call them (`data` is `header.payload`, the signature
 * base64url). ES256 is the only algorithm accepted, so that a token cannot choose a weaker one for itself.
 */
export const ALG = 'ES256';

const jwkSet = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });
const jwtVcIssuerMetadata = z.object({ issuer: z.string(), jwks: jwkSet.optional(), jwks_uri: z.string().optional() });

/** The keys an issuer publishes, refused unless its metadata names the same issuer as the credential's `iss`. */
export async function fetchIssuerKeys(iss: string, fetchImpl: Fetch): Promise<JWK[]> {
  checkIdentifier(iss, 'The credential issuer (iss)');
  const what = 'The issuer metadata (jwt-vc-issuer)';
  const answer = await send(fetchImpl, wellKnownUrl(iss, 'jwt-vc-issuer'), { headers: { accept: 'application/json' } }, what);
  const parsed = jwtVcIssuerMetadata.safeParse(jsonBody(answer, what));
  if (!parsed.success) throw new WalletError('invalid_issuer_metadata', `${what} of ${iss} is malformed`);
  // SD-JWT VC §5.3: anyone can serve metadata; only an `issuer` equal to `iss` makes these keys the credential's issuer's.
  if (parsed.data.issuer !== iss)
    throw new WalletError('untrusted_issuer', `${what} names issuer ${JSON.stringify(parsed.data.issuer)}, not the credential's ${JSON.stringify(iss)}`);
  const { jwks, jwks_uri: jwksUri } = parsed.data;
  if ((jwks === undefined) === (jwksUri === undefined))
    throw new WalletError('invalid_issuer_metadata', `${what} of ${iss} must hold exactly one of jwks and jwks_uri`);
  if (jwks) return jwks.keys as JWK[];
  const keys = jwkSet.safeParse(jsonBody(await send(fetchImpl, checkUrl(jwksUri!, 'jwks_uri'), {}, 'The issuer JWKS'), 'The issuer JWKS'));
  if (!keys.success) throw new WalletError('invalid_issuer_metadata', `The issuer JWKS of ${iss} is malformed`);
  return keys.data.keys as JWK[];
}

/** The issuer key a JWS names by `kid`; one and only one must match, and it must be a signing key. */
export function keyByKid(keys: JWK[], jws: string, what: string): JWK {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch {
    throw new WalletError('invalid_presentation', `${what} has no readable JWS header`);
  }
  if (typeof kid !== 'string') throw new WalletError('unknown_key', `${what} names no key (no kid in its header)`);
  const matching = keys.filter((key) => key.kid === kid);
  if (matching.length !== 1)
    throw new WalletError('unknown_key', `${what} is signed with key ${JSON.stringify(kid)}, which the issuer does not publish (once)`);
  const key = matching[0]!;
  if ((key.use !== undefined && key.use !== 'sig') || (key.alg !== undefined && key.alg !== ALG))
    throw new WalletError('unknown_key', `The issuer key ${JSON.stringify(kid)} is not an ${ALG} signing key`);
  return key;
}

/** A verifier for @sd-jwt that checks a JWS against the issuer key its header names. It throws rather than answering false, so that the reason survives. */
export function issuerVerifier(keys: JWK[], what: string): (data: string, signature: string) => Promise<boolean> {
  return async (data, signature) => {
    await verifyEs256(data, signature, keyByKid(keys, `${data}.${signature}`, what), 'bad_signature', what);
    return true;
  };
}

export async function verifyEs256(data: string, signature: string, jwk: JWK, code: string, what: string): Promise<void> {
  const [protectedHeader, payload, extra] = data.split('.');
  if (protectedHeader === undefined || payload === undefined || extra !== undefined) throw new WalletError(code, `${what} is not a compact JWS`);
  try {
    await flattenedVerify({ protected: protectedHeader, payload, signature }, await importJWK(jwk, ALG), { algorithms: [ALG] });
  } catch (error) {
    throw new WalletError(code, `${what} does not verify (${(error as Error).message})`);
  }
}

/** Signs `data` (an encoded `header.payload`) as a JWS signature: ECDSA P-256 over SHA-256, r‖s, base64url. */
export function es256Signer(privateJwk: JWK): (data: string) => string {
  const key = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' });
  return (data) => sign('sha256', Buffer.from(data, 'ascii'), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}
