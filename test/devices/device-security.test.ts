import { CompactSign, exportJWK, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeviceApiError } from '../../src/sdk/device.js';
import { testDatabases } from '../support/databases.js';
import { PUBLIC_URL, useHarness } from '../support/harness.js';

for (const database of testDatabases) {
  describe(`device activation and authentication (${database.name})`, () => {
    const t = useHarness(database, {
      REUSEID_ACTIVATION_MAX_FAILURES_PER_SOURCE: '5',
      REUSEID_ACTIVATION_MAX_FAILURES_GLOBAL: '8',
      REUSEID_ACTIVATION_CODE_TTL_SECONDS: '600',
      REUSEID_ACTIVATION_FAILURE_WINDOW_SECONDS: '300',
    });

    const startOnboarding = async () =>
      (await t.rp.post('/reuseid/onboarding', {})).body.data as { activationCode: string; transactionId: string; userId: string };
    const activationProof = async (code: string) => {
      const key = await generateKeyPair('ES256', { extractable: true });
      return new CompactSign(new TextEncoder().encode(JSON.stringify({ activationCode: code, aud: PUBLIC_URL, iat: Math.floor(t.h.clock.now() / 1000) })))
        .setProtectedHeader({ alg: 'ES256', typ: 'reuseid-activation+jwt', jwk: await exportJWK(key.publicKey) })
        .sign(key.privateKey);
    };
    const activate = async (code: string, ip = '203.0.113.7', proof?: string) =>
      t.h.app.inject({
        method: 'POST',
        url: '/device/v1/activations',
        remoteAddress: ip,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ activationCode: code, proof: proof ?? (await activationProof(code)) }),
      });
    const resetCounters = () => t.h.ctx.store.db.deleteFrom('rate_counters').execute();

    it('stores activation codes only as keyed hashes', async () => {
      const start = await startOnboarding();
      const row = await t.h.ctx.store.db
        .selectFrom('transactions')
        .select('activation_code_hash')
        .where('id', '=', start.transactionId)
        .executeTakeFirstOrThrow();
      expect(row.activation_code_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.activation_code_hash).not.toBe(createHash('sha256').update(start.activationCode).digest('hex'));
    });

    it('activates a code once; a concurrent second activation of the same code loses', async () => {
      await resetCounters();
      const start = await startOnboarding();
      const results = await Promise.all([
        activate(start.activationCode, '198.51.100.1'),
        activate(start.activationCode, '198.51.100.2'),
        activate(start.activationCode, '198.51.100.3'),
      ]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400, 400]);
      const devices = await t.h.ctx.store.db.selectFrom('devices').select('id').where('user_id', '=', start.userId).execute();
      expect(devices).toHaveLength(1);
      expect((await activate(start.activationCode)).json().code).toBe('invalid_activation_code');
    });

    it('requires proof of possession of the registered key', async () => {
      await resetCounters();
      const start = await startOnboarding();
      const other = await activationProof('1234567890');
      const mismatch = await activate(start.activationCode, '198.51.100.9', other);
      expect(mismatch.statusCode).toBe(422);
      expect(mismatch.json().invalidParams[0].name).toBe('proof');
      const key = await generateKeyPair('ES256', { extractable: true });
      const privateJwk = await exportJWK(key.privateKey);
      const leaky = await new CompactSign(
        new TextEncoder().encode(JSON.stringify({ activationCode: start.activationCode, aud: PUBLIC_URL, iat: Math.floor(Date.now() / 1000) })),
      )
        .setProtectedHeader({ alg: 'ES256', typ: 'reuseid-activation+jwt', jwk: privateJwk })
        .sign(key.privateKey);
      expect((await activate(start.activationCode, '198.51.100.9', leaky)).statusCode).toBe(422);
      expect((await activate(start.activationCode, '198.51.100.9')).statusCode).toBe(200);
    });

    it('bounds wrong guesses per source, and globally across sources and transactions', async () => {
      await resetCounters();
      const start = await startOnboarding();
      for (let i = 0; i < 5; i++) expect((await activate(String(1000000000 + i), '192.0.2.10')).statusCode).toBe(400);
      const blocked = await activate(start.activationCode, '192.0.2.10');
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      // Spreading guesses over other addresses still hits the global bound (8 failures per window).
      for (let i = 0; i < 3; i++) expect((await activate(String(2000000000 + i), `192.0.2.${20 + i}`)).statusCode).toBe(400);
      expect((await activate(start.activationCode, '192.0.2.99')).statusCode).toBe(429);
      // The bound lifts with the window, and the right code still works then.
      t.h.clock.advance(300_000);
      expect((await activate(start.activationCode, '192.0.2.10')).statusCode).toBe(200);
      t.h.clock.set(Date.now());
    });

    it('refuses an activation code past its own expiry', async () => {
      await resetCounters();
      const start = await startOnboarding();
      t.h.clock.advance(601_000);
      const later = await t.h.rp();
      t.h.clock.advance(-601_000);
      const row = await t.h.ctx.store.db
        .selectFrom('transactions')
        .select('activation_code_expires_at')
        .where('id', '=', start.transactionId)
        .executeTakeFirstOrThrow();
      await t.h.ctx.store.db
        .updateTable('transactions')
        .set({ activation_code_expires_at: row.activation_code_expires_at! - 601_000 })
        .where('id', '=', start.transactionId)
        .execute();
      expect((await activate(start.activationCode)).json().code).toBe('invalid_activation_code');
      expect((await later.get(`/reuseid/onboarding/${start.transactionId}`)).body.data.status).toBe('Pending');
    });

    describe('signed device requests', () => {
      async function activatedDevice() {
        await resetCounters();
        const start = await startOnboarding();
        const device = await t.h.device();
        const activation = await device.activate(start.activationCode);
        return { device, activation };
      }
      const sign = async (privateJwk: object, kid: string, claims: Record<string, unknown>) =>
        new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
          .setProtectedHeader({ alg: 'ES256', typ: 'reuseid-device+jwt', kid })
          .sign((await importJWK(privateJwk, 'ES256')) as CryptoKey);
      const bh = (body = '') => createHash('sha256').update(body).digest('base64url');

      it('accepts a fresh signed request once and refuses its replay', async () => {
        const { device, activation } = await activatedDevice();
        const path = `/device/v1/transactions/${activation.transactionId}`;
        const jws = await sign(device.state.privateJwk, activation.deviceId, {
          htm: 'GET',
          htu: `${PUBLIC_URL}${path}`,
          iat: Math.floor(Date.now() / 1000),
          jti: randomBytes(16).toString('hex'),
          bh: bh(),
        });
        const first = await t.h.app.inject({ method: 'GET', url: path, headers: { authorization: `ReuseID-Device ${jws}` } });
        expect(first.statusCode).toBe(200);
        const replay = await t.h.app.inject({ method: 'GET', url: path, headers: { authorization: `ReuseID-Device ${jws}` } });
        expect(replay.statusCode).toBe(401);
        expect(replay.json().detail).toContain('replay');
      });

      it('refuses requests bound to another URL, method or body, stale ones, and other keys', async () => {
        const { device, activation } = await activatedDevice();
        const path = `/device/v1/transactions/${activation.transactionId}`;
        const base = () => ({ htm: 'GET', htu: `${PUBLIC_URL}${path}`, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('hex'), bh: bh() });
        const attempt = async (claims: Record<string, unknown>, privateJwk = device.state.privateJwk) =>
          t.h.app.inject({ method: 'GET', url: path, headers: { authorization: `ReuseID-Device ${await sign(privateJwk, activation.deviceId, claims)}` } });
        expect((await attempt({ ...base(), htu: `${PUBLIC_URL}/device/v1/operations` })).statusCode).toBe(401);
        expect((await attempt({ ...base(), htm: 'POST' })).statusCode).toBe(401);
        expect((await attempt({ ...base(), bh: bh('{"x":1}') })).statusCode).toBe(401);
        expect((await attempt({ ...base(), iat: Math.floor(Date.now() / 1000) - 3600 })).statusCode).toBe(401);
        expect((await attempt({ ...base(), jti: undefined })).statusCode).toBe(401);
        const stranger = await generateKeyPair('ES256', { extractable: true });
        expect((await attempt(base(), await exportJWK(stranger.privateKey))).statusCode).toBe(401);
        expect((await attempt(base())).statusCode).toBe(200);
      });

      it("refuses a locked device, and a device reading another device's transaction gets 404", async () => {
        const first = await activatedDevice();
        const second = await activatedDevice();
        await expect(second.device.transaction(first.activation.transactionId)).rejects.toMatchObject({ status: 404 });
        await t.h.ctx.store.db.updateTable('devices').set({ state: 'LOCKED' }).where('id', '=', first.activation.deviceId).execute();
        const refused = await first.device.transaction(first.activation.transactionId).catch((e: DeviceApiError) => e);
        expect(refused).toBeInstanceOf(DeviceApiError);
        expect((refused as DeviceApiError).status).toBe(401);
      });
    });
  });
}
