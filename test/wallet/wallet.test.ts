import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digest } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WalletError } from '../../src/testing/wallet/errors.js';
import { present } from '../../src/testing/wallet/present.js';
import { receive } from '../../src/testing/wallet/receive.js';
import { verify } from '../../src/testing/wallet/verify.js';
import { CONFIGURATION_ID, type FakeIssuer, IDENTITY, STATUS_INDEX, startFakeIssuer, VCT } from './fake-issuer.js';

const AUDIENCE = 'https://verifier.example';
const NONCE = 'verifier-nonce-1';
const sdJwt = new SDJwtVcInstance({ hasher: digest });

let issuer: FakeIssuer;
let dir: string;
let statePath: string;

beforeAll(async () => {
  issuer = await startFakeIssuer();
});
afterAll(() => issuer.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reuseid-wallet-'));
  statePath = join(dir, 'wallet.json');
  issuer.bends = {};
  issuer.setStatus(STATUS_INDEX, 0);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const readState = () => JSON.parse(readFileSync(statePath, 'utf8')) as { version: number; holderKey: JWK; credentials: Record<string, string>[] };

async function received(): Promise<void> {
  const offer = issuer.offer();
  await receive({ offerUri: offer.uri, txCode: offer.txCode, statePath });
}

/** The error a promise fails with; the test fails if it does not. */
async function refusal(promise: Promise<unknown>): Promise<WalletError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WalletError);
  return error as WalletError;
}

describe('wallet receive', () => {
  it('redeems the offer with its PIN, proves the holder key for this issuer and nonce, and stores the credential 0600', async () => {
    const offer = issuer.offer();
    const summary = await receive({ offerUri: offer.uri, txCode: offer.txCode, statePath });

    // The proof (Appendix F.1): typ, ES256, the holder's public key, aud = the issuer, the nonce just handed out, no iss.
    const proof = issuer.proofs.at(-1)!;
    const header = decodeProtectedHeader(proof);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'openid4vci-proof+jwt' });
    const state = readState();
    const { d: _private, ...holderPublic } = state.holderKey;
    expect(header.jwk).toEqual(holderPublic);
    expect(header.jwk).not.toHaveProperty('d');
    const { payload } = await jwtVerify(proof, await importJWK(header.jwk!, 'ES256'), { audience: issuer.url });
    expect(payload.nonce).toBe(issuer.nonces.at(-1));
    expect(payload).not.toHaveProperty('iss');
    expect(typeof payload.iat).toBe('number');

    expect(statSync(statePath).mode & 0o777).toBe(0o600);
    expect(state.version).toBe(1);
    expect(state.credentials).toHaveLength(1);
    const [stored] = state.credentials;
    expect(stored).toMatchObject({ issuer: issuer.url, configurationId: CONFIGURATION_ID });
    expect(new Date(stored!.receivedAt!).toString()).not.toBe('Invalid Date');
    expect(stored!.credential).toMatch(/~$/);
    const claims = (await sdJwt.getClaims(stored!.credential!)) as Record<string, any>;
    expect(await calculateJwkThumbprint(claims.cnf.jwk)).toBe(await calculateJwkThumbprint(holderPublic));

    expect(summary).toMatchObject({ issuer: issuer.url, configurationId: CONFIGURATION_ID, vct: VCT, claims: IDENTITY, statePath });
    expect(summary.holderKeyThumbprint).toBe(await calculateJwkThumbprint(holderPublic));
    expect(new Date(summary.expiresAt!).getTime()).toBeGreaterThan(Date.now());
  });

  it('keeps its holder key across credentials, and follows an offer by reference', async () => {
    await received();
    const { holderKey } = readState();
    const offer = issuer.offer({ byReference: true });
    expect(offer.uri).toContain('credential_offer_uri=');
    await receive({ offerUri: offer.uri, txCode: offer.txCode, statePath });
    const state = readState();
    expect(state.holderKey).toEqual(holderKey);
    expect(state.credentials).toHaveLength(2);
  });

  it('surfaces the token endpoint’s error code: a wrong PIN, a replayed code', async () => {
    const offer = issuer.offer();
    const wrongPin = await refusal(receive({ offerUri: offer.uri, txCode: '000000', statePath }));
    expect(wrongPin.code).toBe('invalid_grant');
    expect(wrongPin.message).toMatch(/token endpoint/i);
    const replay = await refusal(receive({ offerUri: offer.uri, txCode: offer.txCode, statePath }));
    expect(replay.code).toBe('invalid_grant');
    // Nothing was stored, not even a key.
    expect(() => statSync(statePath)).toThrow();
  });

  it('surfaces the credential endpoint’s error code', async () => {
    issuer.bends.credentialError = { status: 400, body: { error: 'invalid_proof', error_description: 'The proof is not signed by its jwk' } };
    const offer = issuer.offer();
    const error = await refusal(receive({ offerUri: offer.uri, txCode: offer.txCode, statePath }));
    expect(error.code).toBe('invalid_proof');
    expect(error.message).toContain('The proof is not signed by its jwk');
  });

  it('checks the PIN against the offer before spending the code', async () => {
    const offer = issuer.offer();
    expect((await refusal(receive({ offerUri: offer.uri, statePath }))).code).toBe('invalid_tx_code');
    expect((await refusal(receive({ offerUri: offer.uri, txCode: '12345', statePath }))).code).toBe('invalid_tx_code');
    expect((await refusal(receive({ offerUri: offer.uri, txCode: '12345a', statePath }))).code).toBe('invalid_tx_code');
    // The code is still good.
    await receive({ offerUri: offer.uri, txCode: offer.txCode, statePath });
    const withoutPin = issuer.offer({ txCode: null });
    expect((await refusal(receive({ offerUri: withoutPin.uri, txCode: '123456', statePath }))).code).toBe('invalid_tx_code');
    await receive({ offerUri: withoutPin.uri, statePath });
  });

  it('refuses offers it cannot use, and metadata for another issuer', async () => {
    const offer = issuer.offer();
    const json = decodeURIComponent(offer.uri.split('credential_offer=')[1]!);
    expect((await refusal(receive({ offerUri: `https://wallet.example/?credential_offer=${encodeURIComponent(json)}`, statePath }))).code).toBe(
      'invalid_offer',
    );
    expect((await refusal(receive({ offerUri: 'openid-credential-offer://?credential_offer=%7Bnot-json', statePath }))).code).toBe('invalid_offer');
    expect((await refusal(receive({ offerUri: 'openid-credential-offer://?nothing=1', statePath }))).code).toBe('invalid_offer');
    const authorizationCode = JSON.stringify({
      credential_issuer: issuer.url,
      credential_configuration_ids: [CONFIGURATION_ID],
      grants: { authorization_code: {} },
    });
    expect((await refusal(receive({ offerUri: `openid-credential-offer://?credential_offer=${encodeURIComponent(authorizationCode)}`, statePath }))).code).toBe(
      'unsupported_offer',
    );
    const plainHttp = json.replace(issuer.url, 'http://issuer.example');
    expect((await refusal(receive({ offerUri: `openid-credential-offer://?credential_offer=${encodeURIComponent(plainHttp)}`, statePath }))).code).toBe(
      'invalid_url',
    );

    issuer.bends.metadataIssuer = 'https://attacker.example';
    const error = await refusal(receive({ offerUri: offer.uri, txCode: offer.txCode, statePath }));
    expect(error.code).toBe('issuer_mismatch');
    // Refused before the code was spent.
    issuer.bends = {};
    await receive({ offerUri: offer.uri, txCode: offer.txCode, statePath });
  });

  it('refuses a credential signed by a key the issuer does not publish', async () => {
    issuer.bends.rogueKey = (await startRogueKey()).privateJwk;
    const offer = issuer.offer();
    expect((await refusal(receive({ offerUri: offer.uri, txCode: offer.txCode, statePath }))).code).toBe('bad_signature');
  });
});

describe('wallet present', () => {
  beforeEach(received);

  it('discloses only the named claims, nested ones by a.b, with a key-binding JWT signed by the holder key', async () => {
    const result = await present({ statePath, disclose: ['given_name', 'age_equal_or_over.18'], audience: AUDIENCE, nonce: NONCE });
    expect(result).toMatchObject({ disclosed: ['age_equal_or_over.18', 'given_name'], audience: AUDIENCE, nonce: NONCE });

    const decoded = await sdJwt.decode(result.presentation);
    expect(decoded.disclosures!.map((d) => [d.key, d.value]).sort()).toEqual([
      ['18', true],
      ['given_name', 'JANE'],
    ]);
    const claims = (await sdJwt.getClaims(result.presentation)) as Record<string, unknown>;
    expect(claims).toMatchObject({ given_name: 'JANE', age_equal_or_over: { '18': true } });
    for (const hidden of [
      'family_name',
      'birthdate',
      'nationalities',
      'sex',
      'document_type',
      'document_expiry_date',
      'assurance_level',
      'verification_method',
    ])
      expect(claims).not.toHaveProperty(hidden);
    expect(claims.age_equal_or_over).not.toHaveProperty('21');
    // The undisclosed values are nowhere in the presentation, not even encoded.
    expect(Buffer.from(result.presentation.replaceAll('~', '.').split('.').join(''), 'base64url').toString()).not.toContain('SMITH');

    const kb = result.presentation.split('~').at(-1)!;
    expect(decodeProtectedHeader(kb)).toMatchObject({ typ: 'kb+jwt', alg: 'ES256' });
    const { d: _private, ...holderPublic } = readState().holderKey;
    const { payload } = await jwtVerify(kb, await importJWK(holderPublic, 'ES256'), { audience: AUDIENCE });
    expect(payload).toMatchObject({ nonce: NONCE });
    expect(typeof payload.sd_hash).toBe('string');
  });

  it('discloses a parent with everything below it', async () => {
    const result = await present({ statePath, disclose: ['age_equal_or_over'], audience: AUDIENCE, nonce: NONCE });
    expect(result.disclosed).toEqual(['age_equal_or_over.18', 'age_equal_or_over.21']);
    expect(await sdJwt.getClaims(result.presentation)).toMatchObject({ age_equal_or_over: { '18': true, '21': true } });
  });

  it('refuses an unknown claim name, listing the ones there are', async () => {
    const error = await refusal(present({ statePath, disclose: ['given_name', 'shoe_size'], audience: AUDIENCE, nonce: NONCE }));
    expect(error.code).toBe('unknown_claim');
    expect(error.message).toContain('"shoe_size"');
    for (const name of ['given_name', 'family_name', 'age_equal_or_over.18', 'nationalities']) expect(error.message).toContain(name);
    expect((await refusal(present({ statePath: join(dir, 'none.json'), disclose: ['given_name'], audience: AUDIENCE, nonce: NONCE }))).code).toBe(
      'invalid_state',
    );
  });

  it('refuses a state file that is not a wallet', async () => {
    writeFileSync(statePath, JSON.stringify({ version: 2 }));
    expect((await refusal(present({ statePath, disclose: ['given_name'], audience: AUDIENCE, nonce: NONCE }))).code).toBe('invalid_state');
  });
});

describe('wallet verify (the independent verifier)', () => {
  let presentation: string;
  beforeEach(async () => {
    await received();
    presentation = (await present({ statePath, disclose: ['given_name', 'age_equal_or_over.18'], audience: AUDIENCE, nonce: NONCE })).presentation;
  });

  it('accepts the presentation: issuer key from jwt-vc-issuer, status valid, key binding for this nonce and audience', async () => {
    const result = await verify({ presentation, audience: AUDIENCE, nonce: NONCE, issuerUrl: issuer.url });
    expect(result).toMatchObject({
      valid: true,
      issuer: issuer.url,
      vct: VCT,
      claims: { given_name: 'JANE', age_equal_or_over: { '18': true } },
      status: { uri: issuer.statusListUri, idx: STATUS_INDEX, value: 0, state: 'valid' },
      keyBinding: { aud: AUDIENCE, nonce: NONCE },
    });
    expect(Object.keys(result.claims).sort()).toEqual(['age_equal_or_over', 'given_name']);
  });

  it('refuses a wrong nonce and a wrong audience', async () => {
    expect((await refusal(verify({ presentation, audience: AUDIENCE, nonce: 'another-nonce' }))).code).toBe('wrong_nonce');
    expect((await refusal(verify({ presentation, audience: 'https://other-verifier.example', nonce: NONCE }))).code).toBe('wrong_audience');
  });

  it('refuses a tampered disclosure', async () => {
    const parts = presentation.split('~');
    const index = parts.findIndex((part, i) => i > 0 && i < parts.length - 1 && Buffer.from(part, 'base64url').toString().includes('JANE'));
    const [salt, name] = JSON.parse(Buffer.from(parts[index]!, 'base64url').toString()) as [string, string, string];
    parts[index] = Buffer.from(JSON.stringify([salt, name, 'EVE'])).toString('base64url');
    expect((await refusal(verify({ presentation: parts.join('~'), audience: AUDIENCE, nonce: NONCE }))).code).toBe('tampered');
  });

  it('refuses a disclosure the issuer never signed, even with a key binding over it', async () => {
    // The holder forges a claim and signs a fresh key binding over the lot: sd_hash matches, the digest is referenced nowhere.
    const [jwt, ...rest] = presentation.split('~');
    const forged = Buffer.from(JSON.stringify(['c2FsdHNhbHQ', 'family_name', 'DOE'])).toString('base64url');
    const withoutKb = `${[jwt, ...rest.slice(0, -1), forged].join('~')}~`;
    const sdHash = Buffer.from(digest(withoutKb, 'sha-256')).toString('base64url');
    const kb = await new SignJWT({ nonce: NONCE, sd_hash: sdHash })
      .setProtectedHeader({ alg: 'ES256', typ: 'kb+jwt' })
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .sign(await importJWK(readState().holderKey, 'ES256'));
    const error = await refusal(verify({ presentation: withoutKb + kb, audience: AUDIENCE, nonce: NONCE }));
    expect(error.code).toBe('tampered');
    expect(error.message).toContain('family_name');
  });

  it('refuses a key binding made too long ago, and an expired credential', async () => {
    const later = (ms: number) => () => Date.now() + ms;
    expect((await refusal(verify({ presentation, audience: AUDIENCE, nonce: NONCE, now: later(10 * 60_000) }))).code).toBe('stale_key_binding');
    const fromTheFuture = await present({ statePath, disclose: ['given_name'], audience: AUDIENCE, nonce: NONCE, now: later(10 * 60_000) });
    expect((await refusal(verify({ presentation: fromTheFuture.presentation, audience: AUDIENCE, nonce: NONCE }))).message).toMatch(/future/);
    expect((await refusal(verify({ presentation, audience: AUDIENCE, nonce: NONCE, now: later(-10 * 60_000) }))).code).toBe('not_yet_valid');
    expect((await refusal(verify({ presentation, audience: AUDIENCE, nonce: NONCE, now: later(400 * 86_400_000) }))).code).toBe('expired');
  });

  it('refuses a revoked credential (its bit set in the status list)', async () => {
    issuer.setStatus(STATUS_INDEX, 1);
    const error = await refusal(verify({ presentation, audience: AUDIENCE, nonce: NONCE }));
    expect(error.code).toBe('revoked');
  });

  it('accepts a status list signed a second after the verification began (a second ticked during the fetch), not one from the future', async () => {
    issuer.bends.statusListIatOffset = 1;
    expect((await verify({ presentation, audience: AUDIENCE, nonce: NONCE })).status?.value).toBe(0);
    issuer.bends.statusListIatOffset = 3600;
    expect((await refusal(verify({ presentation, audience: AUDIENCE, nonce: NONCE }))).code).toBe('invalid_status_list');
  });

  it('refuses a status list that is about another URI', async () => {
    issuer.bends.statusListSub = `${issuer.url}/status-lists/2`;
    expect((await refusal(verify({ presentation, audience: AUDIENCE, nonce: NONCE }))).code).toBe('invalid_status_list');
  });

  it('refuses keys whose metadata names another issuer, an issuer it does not trust, and a presentation without key binding', async () => {
    issuer.bends.jwtVcIssuer = 'https://attacker.example';
    expect((await refusal(verify({ presentation, audience: AUDIENCE, nonce: NONCE }))).code).toBe('untrusted_issuer');
    issuer.bends = {};
    expect((await refusal(verify({ presentation, audience: AUDIENCE, nonce: NONCE, issuerUrl: 'https://issuer.example' }))).code).toBe('untrusted_issuer');
    const withoutKb = presentation.slice(0, presentation.lastIndexOf('~') + 1);
    expect((await refusal(verify({ presentation: withoutKb, audience: AUDIENCE, nonce: NONCE }))).code).toBe('missing_key_binding');
  });

  it('refuses a credential not signed by the published key, and a key binding not signed by the holder', async () => {
    const rogue = await startRogueKey();
    const genuine = readState();
    const forger = join(dir, 'forger.json');
    const forgedCredential = await issuer.issue(genuine.holderKey, { key: rogue.privateJwk });
    writeFileSync(forger, JSON.stringify({ ...genuine, credentials: [{ ...genuine.credentials[0], credential: forgedCredential }] }));
    const forged = await present({ statePath: forger, disclose: ['given_name'], audience: AUDIENCE, nonce: NONCE });
    expect((await refusal(verify({ presentation: forged.presentation, audience: AUDIENCE, nonce: NONCE }))).code).toBe('bad_signature');

    // Another holder presenting this (genuine) credential: the key binding does not verify with cnf.jwk.
    const thief = join(dir, 'thief.json');
    writeFileSync(thief, JSON.stringify({ ...genuine, holderKey: rogue.privateJwk }));
    const stolen = await present({ statePath: thief, disclose: ['given_name'], audience: AUDIENCE, nonce: NONCE });
    expect(decodeJwt(stolen.presentation.split('~').at(-1)!).nonce).toBe(NONCE);
    expect((await refusal(verify({ presentation: stolen.presentation, audience: AUDIENCE, nonce: NONCE }))).code).toBe('bad_key_binding');
  });
});

async function startRogueKey(): Promise<{ privateJwk: JWK }> {
  const { generateKeyPair, exportJWK } = await import('jose');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateJwk: await exportJWK(privateKey) };
}
