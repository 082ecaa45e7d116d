import { calculateJwkThumbprint, importJWK, type JWK, SignJWT } from 'jose';
import { z } from 'zod';
import { WalletError } from './errors.js';
import { type Fetch, jsonBody, send } from './http.js';
import { ALG, fetchIssuerKeys, issuerVerifier } from './keys.js';
import { discover, type Issuance } from './metadata.js';
import { checkTxCode, describeIssues, PRE_AUTHORIZED_CODE_GRANT, resolveOffer } from './offer.js';
import { isoSeconds, personClaims, sdJwtVc } from './sd-jwt.js';
import { holderPublicJwk, newState, readState, type WalletState, writeState } from './state.js';

/**
 * Receiving a credential with the pre-authorized code flow of OpenID4VCI 1.0: offer → issuer and authorization server
 * metadata → token (code and PIN) → nonce → credential request with a proof of the holder key → the credential, checked
 * against the issuer's published key and stored. Each step refuses what the specification says a wallet must refuse.
 */
export interface ReceiveOptions {
  offerUri: string;
  txCode?: string;
  statePath: string;
  fetch?: Fetch;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

export interface ReceiveSummary {
  issuer: string;
  configurationId: string;
  vct: string;
  /** The claims the wallet holds, all of them (it has every disclosure). */
  claims: Record<string, unknown>;
  issuedAt: string | null;
  expiresAt: string | null;
  /** The JWK thumbprint (RFC 7638) of the holder key the credential is bound to. */
  holderKeyThumbprint: string;
  statePath: string;
}

const PROOF_TYP = 'openid4vci-proof+jwt';

const tokenResponse = z.object({ access_token: z.string().min(1), token_type: z.string(), expires_in: z.number().optional() });
const nonceResponse = z.object({ c_nonce: z.string().min(1) });
const credentialResponse = z.object({ credentials: z.array(z.object({ credential: z.string().min(1) })).min(1) });

export async function receive(options: ReceiveOptions): Promise<ReceiveSummary> {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const resolved = await resolveOffer(options.offerUri, fetchImpl);
  const txCode = checkTxCode(resolved.grant.tx_code, options.txCode);
  const issuance = await discover(resolved, fetchImpl);
  const state = (await readState(options.statePath)) ?? (await newState());

  const accessToken = await requestToken(issuance.tokenEndpoint, resolved.grant['pre-authorized_code'], txCode, fetchImpl);
  const nonce = issuance.metadata.nonce_endpoint ? await requestNonce(issuance.metadata.nonce_endpoint, fetchImpl) : undefined;
  const proof = await proofJwt(state, issuance.metadata.credential_issuer, nonce, now);
  const credential = await requestCredential(issuance, accessToken, proof, fetchImpl);
  const summary = await inspectCredential(credential, issuance, state, fetchImpl, now);

  state.credentials.push({ issuer: summary.issuer, configurationId: issuance.configurationId, credential, receivedAt: new Date(now()).toISOString() });
  await writeState(options.statePath, state);
  return { ...summary, statePath: options.statePath };
}

async function requestToken(tokenEndpoint: string, code: string, txCode: string | undefined, fetchImpl: Fetch): Promise<string> {
  const what = 'The token endpoint';
  const form = new URLSearchParams({ grant_type: PRE_AUTHORIZED_CODE_GRANT, 'pre-authorized_code': code });
  if (txCode !== undefined) form.set('tx_code', txCode);
  const answer = await send(
    fetchImpl,
    tokenEndpoint,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form },
    what,
  );
  const parsed = tokenResponse.safeParse(jsonBody(answer, what));
  if (!parsed.success) throw new WalletError('invalid_response', `${what} answered an unusable token: ${describeIssues(parsed.error)}`);
  // A DPoP-bound token would need a proof this wallet does not make.
  if (parsed.data.token_type.toLowerCase() !== 'bearer')
    throw new WalletError('invalid_response', `${what} issued a ${parsed.data.token_type} token; only Bearer is supported`);
  return parsed.data.access_token;
}

/** §7: a fresh `c_nonce` for the proof, asked for just before the proof is made. */
async function requestNonce(nonceEndpoint: string, fetchImpl: Fetch): Promise<string> {
  const what = 'The nonce endpoint';
  const parsed = nonceResponse.safeParse(
    jsonBody(await send(fetchImpl, nonceEndpoint, { method: 'POST', headers: { accept: 'application/json' } }, what), what),
  );
  if (!parsed.success) throw new WalletError('invalid_response', `${what} answered no c_nonce`);
  return parsed.data.c_nonce;
}

/**
 * The key proof of Appendix F.1: the holder's public key in the header, signed by its private key, for this issuer and
 * this nonce. No `iss`: the code is redeemed anonymously, and a pre-authorized wallet has no client_id to put there.
 */
async function proofJwt(state: WalletState, issuer: string, nonce: string | undefined, now: () => number): Promise<string> {
  const key = await importJWK(state.holderKey, ALG);
  return new SignJWT({ ...(nonce !== undefined ? { nonce } : {}) })
    .setProtectedHeader({ alg: ALG, typ: PROOF_TYP, jwk: holderPublicJwk(state) })
    .setAudience(issuer)
    .setIssuedAt(Math.floor(now() / 1000))
    .sign(key);
}

async function requestCredential(issuance: Issuance, accessToken: string, proof: string, fetchImpl: Fetch): Promise<string> {
  const what = 'The credential endpoint';
  const body = JSON.stringify({ credential_configuration_id: issuance.configurationId, proofs: { jwt: [proof] } });
  const answer = await send(
    fetchImpl,
    issuance.metadata.credential_endpoint,
    { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json' }, body },
    what,
  );
  const json = jsonBody(answer, what, [200, 202]);
  if (answer.status === 202) throw new WalletError('unsupported_response', `${what} deferred the issuance; this wallet does not poll for deferred credentials`);
  const parsed = credentialResponse.safeParse(json);
  if (!parsed.success) throw new WalletError('invalid_response', `${what} answered no credential: ${describeIssues(parsed.error)}`);
  // One proof, so one credential: more would be credentials bound to keys this wallet did not prove.
  if (parsed.data.credentials.length !== 1)
    throw new WalletError('invalid_response', `${what} answered ${parsed.data.credentials.length} credentials for one proof`);
  return parsed.data.credentials[0]!.credential;
}

/**
 * What the wallet checks before it keeps a credential: an SD-JWT VC without key binding, signed by a key the issuer
 * publishes, from the issuer it asked, of the type it asked for, bound to its own key.
 */
async function inspectCredential(
  credential: string,
  issuance: Issuance,
  state: WalletState,
  fetchImpl: Fetch,
  now: () => number,
): Promise<Omit<ReceiveSummary, 'statePath'>> {
  const issuer = issuance.metadata.credential_issuer;
  const what = 'The credential';
  if (!credential.endsWith('~')) throw new WalletError('invalid_credential', `${what} is not an SD-JWT without key binding (it must end with ~)`);
  const keys = await fetchIssuerKeys(issuer, fetchImpl);
  const instance = sdJwtVc({ verifier: issuerVerifier(keys, 'The credential’s issuer signature') });
  let verified: { payload: unknown; header: Record<string, unknown> | undefined };
  try {
    verified = await instance.validate(credential, { currentDate: Math.floor(now() / 1000) });
  } catch (error) {
    if (error instanceof WalletError) throw error;
    throw new WalletError('invalid_credential', `${what} does not validate: ${(error as Error).message}`);
  }
  const payload = verified.payload as Record<string, unknown>;
  if (verified.header?.typ !== 'dc+sd-jwt')
    throw new WalletError('invalid_credential', `${what} has typ ${JSON.stringify(verified.header?.typ)}, not dc+sd-jwt`);
  if (payload.iss !== issuer) throw new WalletError('invalid_credential', `${what} was issued by ${JSON.stringify(payload.iss)}, not ${issuer}`);
  if (typeof payload.vct !== 'string' || (issuance.vct !== undefined && payload.vct !== issuance.vct))
    throw new WalletError('invalid_credential', `${what} has vct ${JSON.stringify(payload.vct)}, not the configuration's ${JSON.stringify(issuance.vct)}`);
  const holderKeyThumbprint = await calculateJwkThumbprint(holderPublicJwk(state));
  const boundTo = (payload.cnf as { jwk?: JWK } | undefined)?.jwk;
  if (!boundTo || (await calculateJwkThumbprint(boundTo).catch(() => undefined)) !== holderKeyThumbprint)
    throw new WalletError('invalid_credential', `${what} is not bound to this wallet's key (cnf.jwk)`);
  return {
    issuer,
    configurationId: issuance.configurationId,
    vct: payload.vct,
    claims: personClaims(payload),
    issuedAt: isoSeconds(payload.iat),
    expiresAt: isoSeconds(payload.exp),
    holderKeyThumbprint,
  };
}
