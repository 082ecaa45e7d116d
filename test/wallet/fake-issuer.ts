import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { StatusList } from '@sd-jwt/jwt-status-list';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';

/**
 * A tiny OpenID4VCI issuer on 127.0.0.1, in the shape the server publishes (issuer and authorization server metadata,
 * pre-authorized code token endpoint with a PIN, nonce and credential endpoints, jwt-vc-issuer, a 1-bit status list),
 * so that the wallet and its verifier are tested without the server. It records what the wallet sent, and its answers
 * can be bent to test the wallet's refusals.
 */
export const CONFIGURATION_ID = 'reuseid_identity_sd_jwt';
export const VCT = 'urn:reuseid:identity:1';
export const STATUS_INDEX = 4711;

export const IDENTITY = {
  given_name: 'JANE',
  family_name: 'SMITH',
  birthdate: '1990-01-01',
  nationalities: ['NOR'],
  sex: 2,
  age_equal_or_over: { '18': true, '21': true },
  document_type: 'passport',
  document_issuing_country: 'NOR',
  document_expiry_date: '2031-06-30',
  assurance_level: 'high',
  verification_method: 'chip',
};

const SELECTIVELY_DISCLOSABLE: (keyof typeof IDENTITY)[] = [
  'given_name',
  'family_name',
  'birthdate',
  'nationalities',
  'sex',
  'document_type',
  'document_issuing_country',
  'document_expiry_date',
  'assurance_level',
  'verification_method',
];

export interface Offer {
  uri: string;
  code: string;
  txCode: string;
}

/** Ways to make the fake issuer misbehave, one test at a time. */
export interface Bends {
  /** The `credential_issuer` the metadata claims. */
  metadataIssuer?: string;
  /** The `issuer` the jwt-vc-issuer metadata claims. */
  jwtVcIssuer?: string;
  /** The `sub` of the status list token. */
  statusListSub?: string;
  /** Seconds added to the status list token's `iat` (the issuer's clock, or a second that ticked during the fetch). */
  statusListIatOffset?: number;
  /** An error object the credential endpoint answers instead of a credential. */
  credentialError?: { status: number; body: Record<string, unknown> };
  /** Sign credentials with this key instead of the published one (same kid). */
  rogueKey?: JWK;
}

export interface FakeIssuer {
  url: string;
  kid: string;
  issuerKey: JWK;
  statusListUri: string;
  /** The proof JWTs the credential endpoint received, in order. */
  proofs: string[];
  /** The nonces the nonce endpoint handed out, in order. */
  nonces: string[];
  bends: Bends;
  offer(options?: { txCode?: string | null; byReference?: boolean }): Offer;
  setStatus(index: number, value: 0 | 1): void;
  /** A credential issued as the credential endpoint would, bound to `holder`. */
  issue(holder: JWK, options?: { key?: JWK }): Promise<string>;
  close(): Promise<void>;
}

export async function startFakeIssuer(): Promise<FakeIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'issuer-key-1';
  const issuerKey = await exportJWK(privateKey);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const codes = new Map<string, { txCode: string | null; used: boolean }>();
  const offersByReference = new Map<string, unknown>();
  const accessTokens = new Set<string>();
  const liveNonces = new Set<string>();
  const statuses = new StatusList(new Array(8192).fill(0), 1);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const statusListUri = `${url}/status-lists/1`;

  const issuer: FakeIssuer = {
    url,
    kid,
    issuerKey,
    statusListUri,
    proofs: [],
    nonces: [],
    bends: {},
    offer({ txCode = '493817', byReference = false } = {}) {
      const code = randomBytes(16).toString('base64url');
      codes.set(code, { txCode, used: false });
      const grant = {
        'pre-authorized_code': code,
        ...(txCode === null ? {} : { tx_code: { input_mode: 'numeric', length: 6, description: 'The PIN your bank showed you' } }),
      };
      const offer = {
        credential_issuer: url,
        credential_configuration_ids: [CONFIGURATION_ID],
        grants: { 'urn:ietf:params:oauth:grant-type:pre-authorized_code': grant },
      };
      if (byReference) {
        const id = randomBytes(8).toString('hex');
        offersByReference.set(id, offer);
        return { uri: `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`${url}/offers/${id}`)}`, code, txCode: txCode ?? '' };
      }
      return { uri: `openid-credential-offer://?credential_offer=${encodeURIComponent(JSON.stringify(offer))}`, code, txCode: txCode ?? '' };
    },
    setStatus: (index, value) => statuses.setStatus(index, value),
    issue: (holder, options) => issueCredential(url, kid, options?.key ?? issuer.bends.rogueKey ?? issuerKey, holder, statusListUri),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const routes: Record<string, (request: IncomingMessage, body: string) => Promise<[number, unknown, string?]>> = {
    'GET /.well-known/openid-credential-issuer': async () => [
      200,
      {
        credential_issuer: issuer.bends.metadataIssuer ?? url,
        credential_endpoint: `${url}/credential`,
        nonce_endpoint: `${url}/nonce`,
        credential_configurations_supported: {
          [CONFIGURATION_ID]: {
            format: 'dc+sd-jwt',
            vct: VCT,
            cryptographic_binding_methods_supported: ['jwk'],
            credential_signing_alg_values_supported: ['ES256'],
            proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
          },
        },
      },
    ],
    'GET /.well-known/oauth-authorization-server': async () => [
      200,
      {
        issuer: url,
        token_endpoint: `${url}/token`,
        grant_types_supported: ['urn:ietf:params:oauth:grant-type:pre-authorized_code'],
        'pre-authorized_grant_anonymous_access_supported': true,
      },
    ],
    'GET /.well-known/jwt-vc-issuer': async () => [200, { issuer: issuer.bends.jwtVcIssuer ?? url, jwks: { keys: [publicJwk] } }],
    'GET /status-lists/1': async () => [
      200,
      await statusListToken(statuses, issuer.bends.statusListSub ?? statusListUri, kid, issuerKey, issuer.bends.statusListIatOffset ?? 0),
      'application/statuslist+jwt',
    ],
    'POST /token': async (_request, body) => {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:pre-authorized_code') return [400, { error: 'unsupported_grant_type' }];
      const entry = codes.get(form.get('pre-authorized_code') ?? '');
      if (!entry || entry.used) return [400, { error: 'invalid_grant', error_description: 'The pre-authorized code is unknown, used or expired' }];
      entry.used = true;
      if (entry.txCode !== (form.get('tx_code') ?? null)) return [400, { error: 'invalid_grant', error_description: 'Wrong transaction code' }];
      const token = randomBytes(16).toString('base64url');
      accessTokens.add(token);
      return [200, { access_token: token, token_type: 'Bearer', expires_in: 300 }];
    },
    'POST /nonce': async () => {
      const nonce = randomBytes(16).toString('base64url');
      liveNonces.add(nonce);
      issuer.nonces.push(nonce);
      return [200, { c_nonce: nonce }];
    },
    'POST /credential': async (request, body) => {
      if (!accessTokens.has((request.headers.authorization ?? '').replace(/^Bearer /, ''))) return [401, { error: 'invalid_token' }];
      if (issuer.bends.credentialError) return [issuer.bends.credentialError.status, issuer.bends.credentialError.body];
      const { credential_configuration_id: id, proofs } = JSON.parse(body) as { credential_configuration_id?: string; proofs?: { jwt?: string[] } };
      if (id !== CONFIGURATION_ID) return [400, { error: 'unknown_credential_configuration' }];
      const [proof, ...more] = proofs?.jwt ?? [];
      if (proof === undefined || more.length > 0) return [400, { error: 'invalid_proof', error_description: 'Exactly one proof' }];
      issuer.proofs.push(proof);
      const holder = decodeProtectedHeader(proof).jwk;
      if (!holder) return [400, { error: 'invalid_proof', error_description: 'No jwk' }];
      const verified = await jwtVerify(proof, await importJWK(holder, 'ES256'), { audience: url, typ: 'openid4vci-proof+jwt', algorithms: ['ES256'] }).catch(
        () => null,
      );
      if (!verified) return [400, { error: 'invalid_proof' }];
      if (!liveNonces.delete(String(verified.payload.nonce))) return [400, { error: 'invalid_nonce' }];
      return [200, { credentials: [{ credential: await issuer.issue(holder) }] }];
    },
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', url).pathname;
      const offerId = path.match(/^\/offers\/(\w+)$/)?.[1];
      const route: (typeof routes)[string] | undefined =
        offerId !== undefined && request.method === 'GET'
          ? async () => [offersByReference.has(offerId) ? 200 : 404, offersByReference.get(offerId) ?? { error: 'not_found' }]
          : routes[`${request.method} ${path}`];
      const answer = route ? route(request, Buffer.concat(chunks).toString('utf8')) : Promise.resolve<[number, unknown]>([404, { error: 'not_found' }]);
      answer.then(
        ([status, body, type]) => {
          response.writeHead(status, { 'content-type': type ?? 'application/json', 'cache-control': 'no-store' });
          response.end(typeof body === 'string' ? body : JSON.stringify(body));
        },
        (error: Error) => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: 'server_error', error_description: error.message }));
        },
      );
    });
  });
  return issuer;
}

/** The credential in exactly the shape the server issues: registered claims in the clear, the identity selectively disclosable. */
async function issueCredential(iss: string, kid: string, signingKey: JWK, holder: JWK, statusListUri: string): Promise<string> {
  const key = createPrivateKey({ key: signingKey as import('node:crypto').JsonWebKey, format: 'jwk' });
  const instance = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    signAlg: 'ES256',
    signer: (data) => sign('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url'),
  });
  const now = Math.floor(Date.now() / 1000);
  const { kty, crv, x, y } = holder;
  return instance.issue(
    {
      iss,
      iat: now,
      exp: now + 365 * 86_400,
      vct: VCT,
      cnf: { jwk: { kty, crv, x, y } },
      status: { status_list: { idx: STATUS_INDEX, uri: statusListUri } },
      ...IDENTITY,
    },
    { _sd: SELECTIVELY_DISCLOSABLE, age_equal_or_over: { _sd: ['18', '21'] } },
    { header: { kid } },
  );
}

async function statusListToken(statuses: StatusList, sub: string, kid: string, issuerKey: JWK, iatOffset: number): Promise<string> {
  return new SignJWT({ status_list: { bits: 1, lst: statuses.compressStatusList() }, ttl: 300 })
    .setProtectedHeader({ alg: 'ES256', typ: 'statuslist+jwt', kid })
    .setSubject(sub)
    .setIssuedAt(Math.floor(Date.now() / 1000) + iatOffset)
    .sign(await importJWK(issuerKey, 'ES256'));
}
