import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Harness, Rp } from '../support/harness.js';
import { PUBLIC_URL } from '../support/harness.js';

/** A wallet and a verifier written in the test, from the specifications, to check the issuer's answers on the wire. */
export const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };

export async function onboardWithSandbox(t: { h: Harness; rp: Rp }, identity = JANE) {
  const start = (await t.rp.post('/reuseid/onboarding', {})).body.data;
  const device = await t.h.device();
  const activation = await device.activate(start.activationCode);
  await device.call('POST', `/device/v1/transactions/${start.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity });
  return { userId: start.userId as string, deviceId: activation.deviceId as string, device };
}

export async function injectJson(h: Harness, method: 'GET' | 'POST', url: string, options: { headers?: Record<string, string>; body?: string } = {}) {
  const response = await h.app.inject({ method, url, headers: options.headers ?? {}, ...(options.body === undefined ? {} : { payload: options.body }) });
  return { status: response.statusCode, headers: response.headers, text: response.body, json: () => JSON.parse(response.body) };
}

export async function redeem(h: Harness, code: string, txCode?: string) {
  const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:pre-authorized_code', 'pre-authorized_code': code });
  if (txCode !== undefined) form.set('tx_code', txCode);
  return injectJson(h, 'POST', '/auth/open/connect/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
}

export interface HolderKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function holderKey(): Promise<HolderKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

export async function proofJwt(holder: HolderKey, claims: { aud?: string; nonce?: string; iat?: number }, header: Record<string, unknown> = {}) {
  return new SignJWT({ aud: claims.aud ?? PUBLIC_URL, nonce: claims.nonce })
    .setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: holder.publicJwk, ...header })
    .setIssuedAt(claims.iat)
    .sign(holder.privateKey);
}

export async function nonce(h: Harness): Promise<string> {
  return (await injectJson(h, 'POST', '/openid4vci/nonce')).json().c_nonce;
}

export async function requestCredential(h: Harness, accessToken: string, proofs: string[], configurationId = 'reuseid_identity_sd_jwt') {
  return injectJson(h, 'POST', '/openid4vci/credential', {
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ credential_configuration_id: configurationId, proofs: { jwt: proofs } }),
  });
}

/** Offer, redeem, prove and receive: the whole wallet side; returns the credential and the holder key. */
export async function receiveCredential(t: { h: Harness }, rp: Rp, userId: string) {
  const offer = await rp.post(`/reuseid/users/${userId}/credential-offers`, {});
  if (offer.status !== 201) throw new Error(`offer refused: ${JSON.stringify(offer.body)}`);
  const code = offer.body.credentialOffer.grants['urn:ietf:params:oauth:grant-type:pre-authorized_code']['pre-authorized_code'];
  const token = (await redeem(t.h, code, offer.body.txCode)).json();
  const holder = await holderKey();
  // Dated by the server's clock, which some tests move.
  const iat = Math.floor(t.h.clock.now() / 1000);
  const answer = await requestCredential(t.h, token.access_token, [await proofJwt(holder, { nonce: await nonce(t.h), iat })]);
  if (answer.status !== 200) throw new Error(`credential refused: ${answer.text}`);
  return { credential: answer.json().credentials[0].credential as string, holder, offer: offer.body };
}

/** A verifier as a third party would run it: the issuer's key from /.well-known/jwt-vc-issuer, the status list over HTTP. */
export function verifier(h: Harness) {
  const fetchJson = async (url: string) => injectJson(h, 'GET', url.slice(PUBLIC_URL.length));
  const issuerKey = async (kid: unknown): Promise<CryptoKey> => {
    const { issuer, jwks } = (await fetchJson(`${PUBLIC_URL}/.well-known/jwt-vc-issuer`)).json() as { issuer: string; jwks: { keys: JWK[] } };
    if (issuer !== PUBLIC_URL) throw new Error('issuer mismatch');
    const jwk = jwks.keys.find((key) => key.kid === kid);
    if (!jwk) throw new Error('unknown issuer key');
    return (await importJWK(jwk, 'ES256')) as CryptoKey;
  };
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    verifier: async (data, signature) => {
      const [header] = data.split('.');
      const kid = JSON.parse(Buffer.from(header!, 'base64url').toString()).kid;
      const key = await issuerKey(kid);
      return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(signature, 'base64url'), Buffer.from(data));
    },
    kbVerifier: async (data, signature, payload) => {
      const cnf = (payload as { cnf: { jwk: JWK } }).cnf.jwk;
      const key = (await importJWK(cnf, 'ES256')) as CryptoKey;
      return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(signature, 'base64url'), Buffer.from(data));
    },
    statusListFetcher: async (uri) => {
      const token = (await fetchJson(uri)).text;
      await jwtVerify(token, await issuerKey(decodeProtectedHeader(token).kid), { typ: 'statuslist+jwt', subject: uri });
      return token;
    },
  });
}

export const holderSigner = (holder: HolderKey) => async (data: string) =>
  Buffer.from(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, holder.privateKey, Buffer.from(data))).toString('base64url');

export async function statusBit(h: Harness, credential: string): Promise<number> {
  const payload = JSON.parse(Buffer.from(credential.split('~')[0]!.split('.')[1]!, 'base64url').toString());
  const { idx, uri } = payload.status.status_list;
  const token = (await injectJson(h, 'GET', uri.slice(PUBLIC_URL.length))).text;
  return getListFromStatusListJWT(token).getStatus(idx);
}
