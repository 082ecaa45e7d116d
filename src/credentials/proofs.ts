import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, errors as joseErrors, type JWK } from 'jose';
import type { Clock } from '../shared/runtime.js';
import { CredentialRequestError } from './errors.js';
import { CREDENTIAL_ALG } from './metadata.js';
import type { CNonces } from './nonces.js';

/**
 * The proof of possession of a credential request (OpenID4VCI 1.0 §8.2.1.1, Appendix F.1): a JWT of type
 * `openid4vci-proof+jwt`, signed with the key the credential will be bound to, carried in its `jwk` header, for this
 * issuer (`aud`) and a fresh `c_nonce`, issued recently (`iat`).
 */
export const PROOF_TYP = 'openid4vci-proof+jwt';
const MAX_PROOF_LENGTH = 8 * 1024;
const MAX_AGE_SECONDS = 300;
const CLOCK_SKEW_SECONDS = 60;

export interface HolderKey {
  jwk: JWK;
  thumbprint: string;
}

export async function verifyProof(proof: unknown, expected: { issuer: string; nonces: CNonces; clock: Clock }): Promise<HolderKey> {
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH) throw new CredentialRequestError(400, 'invalid_proof', 'The proof must be a compact JWT');
  const jwk = holderJwk(proof);
  const key = await importJWK(jwk, CREDENTIAL_ALG).catch(() => {
    throw new CredentialRequestError(400, 'invalid_proof', 'The jwk header is not a usable P-256 key');
  });
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, key, {
      audience: expected.issuer,
      typ: PROOF_TYP,
      algorithms: [CREDENTIAL_ALG],
      currentDate: new Date(expected.clock.now()),
      requiredClaims: ['iat'],
      maxTokenAge: MAX_AGE_SECONDS,
      clockTolerance: CLOCK_SKEW_SECONDS,
    }));
  } catch (error) {
    throw new CredentialRequestError(400, 'invalid_proof', proofProblem(error));
  }
  const nonce = expected.nonces.check(payload.nonce);
  if (nonce !== 'valid')
    throw new CredentialRequestError(
      400,
      'invalid_nonce',
      nonce === 'expired' ? 'The c_nonce has expired; get a new one' : 'The c_nonce is missing or unknown',
    );
  return { jwk, thumbprint: await calculateJwkThumbprint(jwk) };
}

/** The public key the proof carries: P-256 only, never a private key, no key reference we would have to resolve. */
function holderJwk(proof: string): JWK {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new CredentialRequestError(400, 'invalid_proof', 'The proof is not a JWT');
  }
  if (header.typ !== PROOF_TYP) throw new CredentialRequestError(400, 'invalid_proof', `The proof's typ must be ${PROOF_TYP}`);
  if (header.alg !== CREDENTIAL_ALG) throw new CredentialRequestError(400, 'invalid_proof', `The proof must be signed with ${CREDENTIAL_ALG}`);
  if (header.kid !== undefined || header.x5c !== undefined)
    throw new CredentialRequestError(400, 'invalid_proof', 'Only the jwk key binding method is supported');
  const jwk = header.jwk;
  if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new CredentialRequestError(400, 'invalid_proof', 'The proof must carry a P-256 public key in its jwk header');
  }
  if ('d' in jwk) throw new CredentialRequestError(400, 'invalid_proof', 'The jwk header must not contain a private key');
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

function proofProblem(error: unknown): string {
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The proof's ${error.claim} claim is not acceptable: ${error.reason}`;
  if (error instanceof joseErrors.JWTExpired) return 'The proof has expired';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "The proof's signature does not verify with its jwk";
  return 'The proof is malformed';
}
