import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FAILURES_PER_EMAIL, SIGN_IN_WINDOW_MS } from '../../src/console/agents.js';
import { testDatabases } from '../support/databases.js';
import { forgedDeviceRequests } from '../support/forged-device.js';
import { createHarness, PUBLIC_URL, TIGHT_REQUEST_LIMITS, type Harness } from '../support/harness.js';
import { AGENT_PASSWORD, ConsoleBrowser, createAgent } from '../videoid/support.js';

const MINUTE = 60_000;
const ACTIVATION_WINDOW = 120_000;

/**
 * Every limit kind, at a boundary of the fixed windows the counters used to have: the bound's worth of events just
 * before it, then one just after. Fixed windows started afresh there and admitted a second bound's worth (twice the
 * bound within two seconds); a sliding window refuses, and admits again once the first events are a window old.
 */
for (const database of testDatabases) {
  describe(`every limit counts over a sliding window, not fixed windows (${database.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(database, {
        ...TIGHT_REQUEST_LIMITS,
        REUSEID_RATE_LIMIT_TOKEN_PER_SOURCE: '6',
        REUSEID_ACTIVATION_MAX_FAILURES_PER_SOURCE: '5',
        REUSEID_ACTIVATION_FAILURE_WINDOW_SECONDS: String(ACTIVATION_WINDOW / 1000),
        // The clock is moved up to a few minutes ahead of the device SDK's, which signs with the real time.
        REUSEID_DEVICE_PROOF_MAX_AGE_SECONDS: '600',
      });
    });
    afterAll(() => h?.close());

    /**
     * Puts the clock one second before a boundary of fixed windows of `windowMs` (later than the clock already is,
     * so that tokens issued earlier stay valid), and returns the moves to one second after it and to a window after.
     */
    const atBoundary = (windowMs: number) => {
      const boundary = (Math.floor(Math.max(h.clock.now(), Date.now()) / windowMs) + 2) * windowMs;
      h.clock.set(boundary - 1000);
      return { cross: () => h.clock.set(boundary + 1000), windowLater: () => h.clock.set(boundary - 1000 + windowMs) };
    };

    const token = (clientId: string, secret: string, remoteAddress: string) =>
      h.app
        .inject({
          method: 'POST',
          url: '/auth/open/connect/token',
          remoteAddress,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: `grant_type=client_credentials&client_id=${clientId}&client_secret=${secret}`,
        })
        .then((r) => r.statusCode);
    const times = async (n: number, call: (i: number) => Promise<number>) => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) statuses.push(await call(i));
      return statuses;
    };

    it('tokens per client', async () => {
      const client = await h.ctx.clients.create(h.ctx.store.db, { name: 'per client', permissions: ['reuseid-onboarding'] });
      const at = atBoundary(MINUTE);
      expect(await times(4, (i) => token(client.clientId, client.clientSecret, `192.0.2.${i + 1}`))).toEqual([200, 200, 200, 200]);
      at.cross();
      expect(await token(client.clientId, client.clientSecret, '192.0.2.9')).toBe(429);
      at.windowLater();
      expect(await token(client.clientId, client.clientSecret, '192.0.2.9')).toBe(200);
    });

    it('token requests per source', async () => {
      const clients = await Promise.all(
        [1, 2, 3, 4].map((i) => h.ctx.clients.create(h.ctx.store.db, { name: `source ${i}`, permissions: ['reuseid-onboarding'] })),
      );
      const at = atBoundary(MINUTE);
      const one = (i: number) => token(clients[i % 3]!.clientId, clients[i % 3]!.clientSecret, '198.51.100.20');
      expect(await times(6, one)).toEqual(Array(6).fill(200));
      at.cross();
      expect(await token(clients[3]!.clientId, clients[3]!.clientSecret, '198.51.100.20')).toBe(429);
      at.windowLater();
      expect(await token(clients[3]!.clientId, clients[3]!.clientSecret, '198.51.100.20')).toBe(200);
    });

    it('wrong client secrets per client id and source', async () => {
      const client = await h.ctx.clients.create(h.ctx.store.db, { name: 'guessed', permissions: ['reuseid-onboarding'] });
      const at = atBoundary(MINUTE);
      expect(await times(4, () => token(client.clientId, 'rsec_guess', '203.0.113.30'))).toEqual([401, 401, 401, 401]);
      at.cross();
      expect(await token(client.clientId, 'rsec_guess', '203.0.113.30')).toBe(429);
      at.windowLater();
      expect(await token(client.clientId, 'rsec_guess', '203.0.113.30')).toBe(401);
    });

    const activatedDevice = async () => {
      const rp = await h.rp();
      const start = (await rp.post('/reuseid/onboarding', {})).body.data;
      const device = await h.device();
      const { transactionId } = await device.activate(start.activationCode);
      return { device, transactionId };
    };
    const status = (call: Promise<unknown>) =>
      call.then(
        () => 200,
        (e: { status: number }) => e.status,
      );

    it('signed requests per device', async () => {
      const { device, transactionId } = await activatedDevice();
      const at = atBoundary(MINUTE);
      expect(await times(3, () => status(device.transaction(transactionId)))).toEqual([200, 200, 200]);
      at.cross();
      expect(await status(device.transaction(transactionId))).toBe(429);
      at.windowLater();
      expect(await status(device.transaction(transactionId))).toBe(200);
    });

    it('unverified device requests per source', async () => {
      const { device, transactionId } = await activatedDevice();
      const forged = await forgedDeviceRequests(h, `/device/v1/transactions/${transactionId}`, device.state.deviceId!, '203.0.113.40');
      const at = atBoundary(MINUTE);
      expect(await times(3, forged)).toEqual([401, 401, 401]);
      at.cross();
      expect(await forged()).toBe(429);
      at.windowLater();
      expect(await forged()).toBe(401);
    });

    const activation = async (code: string, remoteAddress: string) => {
      const key = await generateKeyPair('ES256', { extractable: true });
      const proof = await new CompactSign(
        new TextEncoder().encode(JSON.stringify({ activationCode: code, aud: PUBLIC_URL, iat: Math.floor(h.clock.now() / 1000) })),
      )
        .setProtectedHeader({ alg: 'ES256', typ: 'reuseid-activation+jwt', jwk: await exportJWK(key.publicKey) })
        .sign(key.privateKey);
      const response = await h.app.inject({
        method: 'POST',
        url: '/device/v1/activations',
        remoteAddress,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ activationCode: code, proof }),
      });
      return response.statusCode;
    };

    it('activation requests per source address', async () => {
      const at = atBoundary(MINUTE);
      expect(await times(3, (i) => activation(String(1000000000 + i), '198.51.100.60'))).toEqual([400, 400, 400]);
      at.cross();
      expect(await activation('1000000009', '198.51.100.60')).toBe(429);
      at.windowLater();
      expect(await activation('1000000009', '198.51.100.60')).toBe(400);
    });

    it('failed activations per source prefix', async () => {
      const at = atBoundary(ACTIVATION_WINDOW);
      // One address each, so that only the /24's failure bound (5) binds, not the per-address request rate.
      expect(await times(5, (i) => activation(String(2000000000 + i), `198.51.101.${i + 1}`))).toEqual(Array(5).fill(400));
      at.cross();
      const rp = await h.rp();
      const start = (await rp.post('/reuseid/onboarding', {})).body.data;
      expect(await activation(start.activationCode, '198.51.101.99')).toBe(429);
      at.windowLater();
      expect(await activation(start.activationCode, '198.51.101.99')).toBe(200);
    });

    // Seven scrypt hashes: slow on a busy machine.
    it('failed console sign-ins per email', { timeout: 120_000 }, async () => {
      const agent = await createAgent(h);
      const at = atBoundary(SIGN_IN_WINDOW_MS);
      const browser = new ConsoleBrowser(h);
      await browser.get('/console/sign-in');
      const signIn = async (password: string) => (await browser.post('/console/sign-in', { email: agent.email, password })).status;
      expect(await times(MAX_FAILURES_PER_EMAIL, () => signIn('not the password'))).toEqual(Array(MAX_FAILURES_PER_EMAIL).fill(401));
      at.cross();
      expect(await signIn(AGENT_PASSWORD)).toBe(429);
      at.windowLater();
      const later = new ConsoleBrowser(h);
      await later.get('/console/sign-in');
      expect((await later.post('/console/sign-in', { email: agent.email, password: AGENT_PASSWORD })).status).toBe(303);
    });
  });
}
