import { digest } from '@sd-jwt/crypto-nodejs';
import { decodeJwt, importJWK, type JWK, jwtVerify } from 'jose';
import { WalletError } from './errors.js';
import { checkIdentifier, checkUrl, type Fetch, send } from './http.js';
import { ALG, fetchIssuerKeys, issuerVerifier, keyByKid, verifyEs256 } from './keys.js';
import { isoSeconds, personClaims, sdJwtVc } from './sd-jwt.js';

/**
 * An independent verifier, as a relying party would run it with nothing but the presentation, its own nonce and
 * audience, and the network: the issuer's key comes from `{iss}/.well-known/jwt-vc-issuer` (and is only believed when
 * that metadata names the same issuer), the status from the issuer's signed status list, the holder from the
 * key-binding JWT. It shares no state with the wallet that made the presentation.
 */
export interface VerifyOptions {
  presentation: string;
  audience: string;
  nonce: string;
  /** The issuer the verifier trusts; without it any issuer that publishes its keys is believed. */
  issuerUrl?: string;
  fetch?: Fetch;
  now?: () => number;
  /** How old a key-binding JWT may be, in seconds (default 300). */
  maxKeyBindingAge?: number;
}

export interface StatusCheck {
  uri: string;
  idx: number;
  value: number;
  state: 'valid';
}

export interface VerifyResult {
  valid: true;
  issuer: string;
  vct: string;
  /** The disclosed claims about the holder, and nothing else. */
  claims: Record<string, unknown>;
  status: StatusCheck | null;
  keyBinding: { aud: string; nonce: string; iat: string | null };
  issuedAt: string | null;
  expiresAt: string | null;
}

const SD_JWT_VC_TYP = 'dc+sd-jwt';
const STATUS_LIST_TYP = 'statuslist+jwt';
/** A key-binding JWT from a moment ahead is a clock a little fast; more than this is not. */
const CLOCK_SKEW_SECONDS = 60;

export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  if (!options.audience || !options.nonce) throw new WalletError('invalid_argument', 'The verifier needs the audience and nonce it asked the wallet for');
  const presentation = options.presentation.trim();
  const iss = issuerOf(presentation);
  if (options.issuerUrl !== undefined && iss !== options.issuerUrl)
    throw new WalletError('untrusted_issuer', `The credential was issued by ${JSON.stringify(iss)}, not the trusted ${options.issuerUrl}`);
  const keys = await fetchIssuerKeys(iss, fetchImpl);

  const instance = sdJwtVc({
    verifier: issuerVerifier(keys, 'The issuer signature'),
    kbVerifier: holderVerifier,
    statusListFetcher: statusListFetcher(keys, iss, fetchImpl, now),
    statusVerifier: issuerVerifier(keys, 'The status list signature'),
    statusValidator: async (value) => {
      if (value === 1) throw new WalletError('revoked', 'The credential is revoked (its status list entry is 1, INVALID)');
      if (value === 2) throw new WalletError('suspended', 'The credential is suspended (its status list entry is 2, SUSPENDED)');
      if (value !== 0) throw new WalletError('invalid_status', `The credential's status is ${value}, which this verifier does not accept`);
    },
  });
  // The skew also covers the status list, which the issuer signs when it is fetched, during this call: a token made in
  // the next second would otherwise read as not yet valid.
  const checks = { keyBindingNonce: options.nonce, currentDate: Math.floor(now() / 1000), skewSeconds: CLOCK_SKEW_SECONDS };
  const result = await instance.verify(presentation, checks).catch((error: unknown) => {
    throw translate(error);
  });
  await refuseUnreferencedDisclosures(presentation);

  if (result.header?.typ !== SD_JWT_VC_TYP)
    throw new WalletError('wrong_type', `The credential's typ is ${JSON.stringify(result.header?.typ)}, not ${SD_JWT_VC_TYP}`);
  const kb = result.kb;
  if (!kb) throw new WalletError('missing_key_binding', 'The presentation has no key-binding JWT');
  // The library checks the nonce but not the audience: a presentation made for another verifier must not be replayed here.
  if (kb.payload.aud !== options.audience)
    throw new WalletError('wrong_audience', `The key binding is for ${JSON.stringify(kb.payload.aud)}, not ${options.audience}`);
  checkFreshness(kb.payload.iat, now, options.maxKeyBindingAge ?? 300);

  // Verification got this far only if the status list said 0 (VALID) for this entry.
  const statusRef = result.payload.status?.status_list;
  const status: StatusCheck | null = statusRef ? { uri: statusRef.uri, idx: statusRef.idx, value: 0, state: 'valid' } : null;
  return {
    valid: true,
    issuer: iss,
    vct: result.payload.vct,
    claims: personClaims(result.payload as Record<string, unknown>),
    status,
    keyBinding: { aud: kb.payload.aud, nonce: kb.payload.nonce, iat: isoSeconds(kb.payload.iat) },
    issuedAt: isoSeconds(result.payload.iat),
    expiresAt: isoSeconds(result.payload.exp),
  };
}

/** The `iss` of the issuer-signed JWT, read before anything is verified: it says where the keys to verify with are. */
function issuerOf(presentation: string): string {
  const parts = presentation.split('~');
  if (parts.length < 2) throw new WalletError('invalid_presentation', 'The presentation is not an SD-JWT (JWT~disclosures~key-binding JWT)');
  if (parts.at(-1) === '') throw new WalletError('missing_key_binding', 'The presentation has no key-binding JWT (it ends with ~)');
  let iss: unknown;
  try {
    iss = decodeJwt(parts[0]!).iss;
  } catch {
    throw new WalletError('invalid_presentation', 'The presentation’s issuer-signed JWT cannot be read');
  }
  if (typeof iss !== 'string') throw new WalletError('invalid_presentation', 'The credential names no issuer (iss)');
  return checkIdentifier(iss, 'The credential issuer (iss)');
}

/** The key-binding JWT must be signed by the key the issuer bound the credential to (`cnf.jwk`). */
async function holderVerifier(data: string, signature: string, payload: { cnf?: { jwk: object } }): Promise<boolean> {
  const jwk = payload.cnf?.jwk;
  if (!jwk) throw new WalletError('bad_key_binding', 'The credential is bound to no key (no cnf.jwk)');
  await verifyEs256(data, signature, jwk as JWK, 'bad_key_binding', 'The key-binding JWT');
  return true;
}

/**
 * The status list (Token Status List §8.3): fetched as `statuslist+jwt`, signed by a key of the same issuer, and about
 * the very URI the credential points at (`sub`), so that a list for other credentials cannot be passed off as this one.
 */
function statusListFetcher(keys: JWK[], iss: string, fetchImpl: Fetch, now: () => number): (uri: string) => Promise<string> {
  return async (uri) => {
    const what = `The status list ${uri}`;
    checkUrl(uri, 'The status list URI');
    const answer = await send(fetchImpl, uri, { headers: { accept: `application/${STATUS_LIST_TYP}` } }, what);
    if (answer.status !== 200) throw new WalletError('invalid_status_list', `${what} answered HTTP ${answer.status}`);
    if (!answer.contentType.toLowerCase().startsWith(`application/${STATUS_LIST_TYP}`))
      throw new WalletError('invalid_status_list', `${what} is ${answer.contentType || 'untyped'}, not application/${STATUS_LIST_TYP}`);
    const token = answer.text.trim();
    const key = await importJWK(keyByKid(keys, token, what), ALG);
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALG],
        typ: STATUS_LIST_TYP,
        subject: uri,
        requiredClaims: ['iat'],
        currentDate: new Date(now()),
      });
      if (payload.iss !== undefined && payload.iss !== iss) throw new Error(`it was issued by ${payload.iss}`);
    } catch (error) {
      throw new WalletError('invalid_status_list', `${what} is refused: ${(error as Error).message}`);
    }
    return token;
  };
}

/**
 * SD-JWT §7.1: every disclosure must be referenced, once, by a digest in the signed payload or in another disclosed
 * value. The library silently drops one that is not; a holder could otherwise slip in a forged claim that a less careful
 * consumer of the presentation would read.
 */
async function refuseUnreferencedDisclosures(presentation: string): Promise<void> {
  const decoded = await sdJwtVc().decode(presentation);
  const payload = decoded.jwt?.payload ?? {};
  const alg = (payload._sd_alg as string | undefined) ?? 'sha-256';
  if (alg !== 'sha-256') throw new WalletError('invalid_presentation', `The credential uses digest ${alg}; only sha-256 is accepted`);
  const disclosures = decoded.disclosures ?? [];
  const referenced = digestsIn([payload, ...disclosures.map((d) => d.value)]);
  const seen = new Set<string>();
  for (const disclosure of disclosures) {
    const hash = await disclosure.digest({ hasher: digest, alg });
    if (seen.has(hash)) throw new WalletError('tampered', 'The presentation repeats a disclosure');
    if (!referenced.has(hash))
      throw new WalletError('tampered', `The presentation holds a disclosure the issuer did not sign (${disclosure.key ?? 'an array element'})`);
    seen.add(hash);
  }
}

/** The digests an object tree refers to: `_sd` members of objects, `{"...": digest}` elements of arrays. */
function digestsIn(roots: unknown[]): Set<string> {
  const found = new Set<string>();
  const pending = [...roots];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (Array.isArray(node)) {
      for (const item of node) {
        const hash = arrayElementDigest(item);
        if (hash !== undefined) found.add(hash);
        else pending.push(item);
      }
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '_sd' && Array.isArray(value)) for (const hash of value) if (typeof hash === 'string') found.add(hash);
        if (key !== '_sd') pending.push(value);
      }
    }
  }
  return found;
}

/** An undisclosed array element is `{"...": digest}` and nothing else. */
function arrayElementDigest(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const entries = Object.entries(item);
  const [key, value] = entries[0] ?? [];
  return entries.length === 1 && key === '...' && typeof value === 'string' ? value : undefined;
}

function checkFreshness(iat: number, now: () => number, maxAge: number): void {
  const current = Math.floor(now() / 1000);
  if (iat > current + CLOCK_SKEW_SECONDS) throw new WalletError('stale_key_binding', 'The key-binding JWT is dated in the future');
  if (iat < current - maxAge) throw new WalletError('stale_key_binding', `The key-binding JWT is older than ${maxAge} seconds`);
}

/** The library's errors are plain messages; these are the ones a verifier's caller needs to tell apart. */
function translate(error: unknown): WalletError {
  if (error instanceof WalletError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const known: [RegExp, string, string][] = [
    [/Status List/i, 'invalid_status_list', 'The status list cannot be used'],
    [/Invalid Nonce/i, 'wrong_nonce', 'The key binding is for another nonce'],
    [/sd_hash/i, 'tampered', 'The disclosures are not those the holder signed (sd_hash)'],
    [/expired/i, 'expired', 'The credential has expired'],
    [/not yet valid/i, 'not_yet_valid', 'The credential is not valid yet'],
    [/Key Binding JWT not exist/i, 'missing_key_binding', 'The presentation has no key-binding JWT'],
    [/Key Binding Jwt/i, 'bad_key_binding', 'The key-binding JWT is malformed'],
  ];
  const match = known.find(([pattern]) => pattern.test(message));
  return match ? new WalletError(match[1], `${match[2]} (${message})`) : new WalletError('invalid_presentation', `The presentation is refused: ${message}`);
}
