import { afterEach, describe, expect, it } from 'vitest';
import { applyRetention } from '../../src/retention/job.js';
import { testDatabases } from '../support/databases.js';
import { PUBLIC_URL, useHarness } from '../support/harness.js';
import {
  holderKey,
  holderSigner,
  injectJson,
  JANE,
  nonce,
  onboardWithSandbox,
  proofJwt,
  receiveCredential,
  redeem,
  requestCredential,
  statusBit,
  verifier,
} from './support.js';

const CREDENTIALS = ['reuseid-onboarding', 'reuseid-users', 'reuseid-credentials'] as const;
// The sandbox proves nothing (level low); these tests lower the issuer's minimum to reach issuance through it.
const LOW_MINIMUM = { REUSEID_CREDENTIAL_MINIMUM_ASSURANCE: 'low' };

for (const database of testDatabases) {
  describe(`credential issuance over OpenID4VCI (${database.name})`, () => {
    const t = useHarness(database, LOW_MINIMUM);
    // Tests that move the server's clock put it back: the device simulator signs with the real time.
    afterEach(() => t.h.clock.set(Date.now()));
    const rp = async () => t.h.rp({ permissions: [...CREDENTIALS] });

    it('issues an SD-JWT VC that an independent verifier accepts, bound to the wallet key, with the verified claims', async () => {
      const issuerRp = await rp();
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const { credential, holder } = await receiveCredential(t, issuerRp, user.userId);

      const checked = await verifier(t.h).verify(credential);
      expect(checked.header).toMatchObject({ typ: 'dc+sd-jwt', alg: 'ES256' });
      expect(checked.payload).toMatchObject({
        iss: PUBLIC_URL,
        vct: 'urn:reuseid:identity:1',
        given_name: JANE.firstName,
        family_name: JANE.lastName,
        birthdate: JANE.dateOfBirth,
        nationalities: [JANE.nationality],
        sex: 2,
        age_equal_or_over: { '18': true, '21': true },
        assurance_level: 'low',
        verification_method: { document: 'sandbox', clone_detection: 'not_performed', face_match: false, reviewed_by_agent: false },
      });
      expect(checked.payload.cnf).toEqual({ jwk: { kty: 'EC', crv: 'P-256', x: holder.publicJwk.x, y: holder.publicJwk.y } });
      const lifetime = checked.payload.exp! - checked.payload.iat!;
      expect(lifetime).toBe(365 * 24 * 3600);
    });

    it('rotates the issuer key: a credential signed by the previous key still verifies while both are published', async () => {
      const user = await onboardWithSandbox({ h: t.h, rp: await rp() });
      const first = await receiveCredential(t, await rp(), user.userId);
      t.h.clock.advance(91 * 24 * 3600_000);
      // A new RP token: the old one expired with the clock's jump.
      const second = await receiveCredential(t, await rp(), user.userId);
      const kid = (credential: string) => JSON.parse(Buffer.from(credential.split('.')[0]!, 'base64url').toString()).kid as string;
      expect(kid(second.credential)).not.toBe(kid(first.credential));
      const published = (await injectJson(t.h, 'GET', '/.well-known/jwt-vc-issuer')).json().jwks.keys.map((key: { kid: string }) => key.kid);
      expect(published).toEqual(expect.arrayContaining([kid(first.credential), kid(second.credential)]));
      // Access-token keys are never published as credential keys.
      const tokenKeys = (await injectJson(t.h, 'GET', '/.well-known/jwks.json')).json().keys.map((key: { kid: string }) => key.kid);
      expect(published.filter((k: string) => tokenKeys.includes(k))).toEqual([]);
      const currentDate = Math.floor(t.h.clock.now() / 1000);
      for (const { credential } of [first, second]) expect((await verifier(t.h).verify(credential, { currentDate })).payload.iss).toBe(PUBLIC_URL);
    });

    it('a presentation disclosing only given_name hides every other claim, and its key binding is checked', async () => {
      const issuerRp = await rp();
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const { credential, holder } = await receiveCredential(t, issuerRp, user.userId);
      const wallet = verifier(t.h);
      const kbOptions = { kbSigner: holderSigner(holder), kbSignAlg: 'ES256' };
      const presentation = await new (wallet.constructor as typeof import('@sd-jwt/sd-jwt-vc').SDJwtVcInstance)({
        ...kbOptions,
        hasher: (await import('@sd-jwt/crypto-nodejs')).digest,
      }).present(credential, { given_name: true }, { kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: 'https://verifier.example', nonce: 'n-1' } } });

      const seen = await wallet.verify(presentation, { keyBindingNonce: 'n-1' });
      expect(seen.payload.given_name).toBe(JANE.firstName);
      for (const hidden of ['family_name', 'birthdate', 'nationalities', 'sex', 'age_equal_or_over', 'assurance_level', 'verification_method']) {
        expect(seen.payload).not.toHaveProperty(hidden);
      }
      expect(seen.kb?.payload).toMatchObject({ aud: 'https://verifier.example', nonce: 'n-1' });
      await expect(wallet.verify(presentation, { keyBindingNonce: 'another' })).rejects.toThrow();
    });

    it('refuses a replayed pre-authorized code, a wrong tx_code (spending the offer), a stale nonce, a wrong aud, a reused token', async () => {
      const issuerRp = await rp();
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const offer = (await issuerRp.post(`/reuseid/users/${user.userId}/credential-offers`, {})).body;
      const code = offer.credentialOffer.grants['urn:ietf:params:oauth:grant-type:pre-authorized_code']['pre-authorized_code'];

      // A nonce obtained now is stale by the time the proof is made, five minutes later.
      const staleNonce = await nonce(t.h);
      t.h.clock.advance(301_000);
      const wrong = await redeem(t.h, code, offer.txCode === '000000' ? '111111' : '000000');
      expect(wrong.status).toBe(400);
      expect(wrong.json().error).toBe('invalid_grant');
      expect((await redeem(t.h, code)).json().error).toBe('invalid_request');
      const token = await redeem(t.h, code, offer.txCode);
      expect(token.status).toBe(200);
      expect(token.headers['cache-control']).toBe('no-store');
      expect((await redeem(t.h, code, offer.txCode)).json().error).toBe('invalid_grant');

      const holder = await holderKey();
      const accessToken = token.json().access_token;
      const stale = await requestCredential(t.h, accessToken, [await proofJwt(holder, { nonce: staleNonce })]);
      expect(stale.status).toBe(400);
      expect(stale.json().error).toBe('invalid_nonce');
      const fresh = await nonce(t.h);
      const wrongAud = await requestCredential(t.h, accessToken, [await proofJwt(holder, { nonce: fresh, aud: 'https://other.example' })]);
      expect(wrongAud.json().error).toBe('invalid_proof');
      const forgedNonce = await requestCredential(t.h, accessToken, [await proofJwt(holder, { nonce: `${fresh.split('.')[0]}.00` })]);
      expect(forgedNonce.json().error).toBe('invalid_nonce');
      for (const [contentType, body] of [
        ['application/json', '{"credential_configuration_id":'],
        ['text/plain', 'hello'],
        ['application/json', JSON.stringify({ credential_configuration_id: 'reuseid_identity_sd_jwt', proof: {} })],
      ]) {
        const malformed = await injectJson(t.h, 'POST', '/openid4vci/credential', {
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': contentType! },
          body,
        });
        expect([malformed.status, malformed.json().error]).toEqual([400, 'invalid_credential_request']);
      }
      const unknownConfiguration = await requestCredential(t.h, accessToken, [await proofJwt(holder, { nonce: fresh })], 'mdoc_please');
      expect(unknownConfiguration.json().error).toBe('unknown_credential_configuration');
      const good = await requestCredential(t.h, accessToken, [await proofJwt(holder, { nonce: fresh })]);
      expect(good.status).toBe(200);
      const again = await requestCredential(t.h, accessToken, [await proofJwt(holder, { nonce: fresh })]);
      expect(again.status).toBe(401);
      expect(again.json().error).toBe('invalid_token');
      expect(again.headers['www-authenticate']).toContain('invalid_token');
    });

    it('bounds guessing the tx_code: after five attempts even the right code is refused', async () => {
      const issuerRp = await rp();
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const offer = (await issuerRp.post(`/reuseid/users/${user.userId}/credential-offers`, {})).body;
      const code = offer.credentialOffer.grants['urn:ietf:params:oauth:grant-type:pre-authorized_code']['pre-authorized_code'];
      const wrongCodes = ['000000', '111111', '222222', '333333', '444444', '555555'].filter((c) => c !== offer.txCode).slice(0, 5);
      for (const wrongCode of wrongCodes) expect((await redeem(t.h, code, wrongCode)).json().error).toBe('invalid_grant');
      expect((await redeem(t.h, code, offer.txCode)).json().error).toBe('invalid_grant');
    });

    it('an expired offer is refused', async () => {
      const issuerRp = await rp();
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const offer = (await issuerRp.post(`/reuseid/users/${user.userId}/credential-offers`, {})).body;
      t.h.clock.advance(601_000);
      const code = offer.credentialOffer.grants['urn:ietf:params:oauth:grant-type:pre-authorized_code']['pre-authorized_code'];
      expect((await redeem(t.h, code, offer.txCode)).json().error).toBe('invalid_grant');
    });

    it('offers only for a verified user of the account: 404 for another account or an unknown user, 409 when not enrolled', async () => {
      const issuerRp = await rp();
      const stranger = await t.h.rp({ account: 'another-account', permissions: [...CREDENTIALS] });
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      expect((await stranger.post(`/reuseid/users/${user.userId}/credential-offers`, {})).status).toBe(404);
      expect((await issuerRp.post('/reuseid/users/no-such-user/credential-offers', {})).status).toBe(404);
      const pending = (await issuerRp.post('/reuseid/onboarding', {})).body.data;
      const notEnrolled = await issuerRp.post(`/reuseid/users/${pending.userId}/credential-offers`, {});
      expect(notEnrolled.status).toBe(409);
      expect(notEnrolled.body.code).toBe('user_not_enrolled');
      const withoutPermission = await t.h.rp({ permissions: ['reuseid-users'] });
      expect((await withoutPermission.post(`/reuseid/users/${user.userId}/credential-offers`, {})).status).toBe(403);
    });

    it('revoked by the RP: the status list marks it and the verifier rejects it; the list is public and cacheable', async () => {
      const issuerRp = await rp();
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const { credential } = await receiveCredential(t, issuerRp, user.userId);
      expect(await statusBit(t.h, credential)).toBe(0);

      const revoked = await issuerRp.post(`/reuseid/users/${user.userId}/credentials/revoke`, {});
      expect(revoked.status).toBe(200);
      expect(revoked.body.revokedCredentialIds).toHaveLength(1);
      expect(await statusBit(t.h, credential)).toBe(1);
      await expect(verifier(t.h).verify(credential)).rejects.toThrow(/status/i);

      const uri = JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString()).status.status_list.uri as string;
      const list = await injectJson(t.h, 'GET', uri.slice(PUBLIC_URL.length));
      expect(list.headers['content-type']).toContain('application/statuslist+jwt');
      expect(list.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
      const exported = await issuerRp.get(`/reuseid/users/${user.userId}/export`);
      expect(exported.body.data.credentials).toEqual([
        expect.objectContaining({ configurationId: 'reuseid_identity_sd_jwt', revocationReason: 'revoked_by_rp', revokedAt: expect.any(String) }),
      ]);
      const events = await t.h.ctx.store.db.selectFrom('outbox_events').select('event_name').where('account_id', '=', issuerRp.accountId).execute();
      expect(events.map((e) => e.event_name)).toEqual(expect.arrayContaining(['credential.issued', 'credential.revoked']));
    });

    it('erasing the user revokes their credentials, withdraws their offers and refuses new ones', async () => {
      const issuerRp = await rp();
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const { credential } = await receiveCredential(t, issuerRp, user.userId);
      const pendingOffer = (await issuerRp.post(`/reuseid/users/${user.userId}/credential-offers`, {})).body;
      const erased = await t.h.app.inject({ method: 'DELETE', url: `/reuseid/users/${user.userId}`, headers: { authorization: `Bearer ${issuerRp.token}` } });
      expect(erased.statusCode).toBe(204);
      expect(await statusBit(t.h, credential)).toBe(1);
      const code = pendingOffer.credentialOffer.grants['urn:ietf:params:oauth:grant-type:pre-authorized_code']['pre-authorized_code'];
      expect((await redeem(t.h, code, pendingOffer.txCode)).json().error).toBe('invalid_grant');
      expect((await issuerRp.post(`/reuseid/users/${user.userId}/credential-offers`, {})).status).toBe(404);
    });

    it('retention deletes offers a day after they expire and credential records 30 days after theirs, audited', async () => {
      // An account of its own: the counts are this test's alone.
      const issuerRp = await t.h.rp({ account: 'retention-of-credentials', permissions: [...CREDENTIALS] });
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      await receiveCredential(t, issuerRp, user.userId);
      await issuerRp.post(`/reuseid/users/${user.userId}/credential-offers`, {});
      const db = t.h.ctx.store.db;
      const rows = async () => ({
        offers: (await db.selectFrom('credential_offers').select('id').where('user_id', '=', user.userId).execute()).length,
        credentials: (await db.selectFrom('credentials').select('id').where('user_id', '=', user.userId).execute()).length,
      });
      const retain = () => applyRetention({ ...t.h.ctx, clock: t.h.clock, policies: t.h.ctx.retentionPolicies });
      t.h.clock.advance(23 * 3600_000);
      await retain();
      expect(await rows()).toEqual({ offers: 2, credentials: 1 });
      t.h.clock.advance(2 * 3600_000);
      await retain();
      expect(await rows()).toEqual({ offers: 0, credentials: 1 });
      t.h.clock.advance(395 * 24 * 3600_000);
      await retain();
      expect(await rows()).toEqual({ offers: 0, credentials: 0 });
      await t.h.ctx.auditSequencer.sequenceNow();
      const audited = await db
        .selectFrom('audit_items')
        .select('body')
        .where('event_type', '=', 'retention.credentials_deleted')
        .where('account_id', '=', issuerRp.accountId)
        .orderBy('sequence')
        .execute();
      expect(audited.map((row) => JSON.parse(row.body).data)).toEqual([
        { offers: 2, credentials: 0 },
        { offers: 0, credentials: 1 },
      ]);
    });

    it('locking the device revokes the credentials; a step-up proving another person revokes them too', async () => {
      const issuerRp = await rp();
      const locked = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const first = await receiveCredential(t, issuerRp, locked.userId);
      const lock = await t.h.app.inject({
        method: 'PATCH',
        url: `/reuseid/users/${locked.userId}/devices/${locked.deviceId}`,
        headers: { authorization: `Bearer ${issuerRp.token}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ state: 'LOCKED' }),
      });
      expect(lock.statusCode).toBe(200);
      expect(await statusBit(t.h, first.credential)).toBe(1);

      const mismatched = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const second = await receiveCredential(t, issuerRp, mismatched.userId);
      const stepUp = (await issuerRp.post('/reuseid/step-up', { userId: mismatched.userId, deviceId: mismatched.deviceId })).body.data;
      const operation = (await mismatched.device.pendingOperations())[0]!;
      await mismatched.device.decide(operation);
      await mismatched.device.call('POST', `/device/v1/transactions/${stepUp.transactionId}/proofing/sandbox`, {
        outcome: 'accepted',
        identity: { ...JANE, dateOfBirth: '1971-05-05' },
      });
      expect((await issuerRp.get(`/reuseid/step-up/${stepUp.transactionId}`)).body.data.failureReason).toBe('identity_mismatch');
      expect(await statusBit(t.h, second.credential)).toBe(1);
    });
  });

  describe(`credential issuance policy (${database.name})`, () => {
    const t = useHarness(database);

    it('refuses an identity verified below the minimum assurance level (substantial by default)', async () => {
      const issuerRp = await t.h.rp({ permissions: [...CREDENTIALS] });
      const user = await onboardWithSandbox({ h: t.h, rp: issuerRp });
      const refused = await issuerRp.post(`/reuseid/users/${user.userId}/credential-offers`, {});
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('credential_not_issuable');
    });
  });
}
