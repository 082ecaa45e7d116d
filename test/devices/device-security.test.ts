import { CompactSign, exportJWK, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceApiError } from '../../src/sdk/device.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, PUBLIC_URL, type Harness, type Rp } from '../support/harness.js';

for (const database of testDatabases) {
  describe(`device activation and authentication (${database.name})`, () => {
    let h: Harness;
    let rp: Rp;
    beforeAll(async () => {
      h = await createHarness(database, {
        REUSEID_ACTIVATION_MAX_FAILURES_PER_SOURCE: '5',
        REUSEID_ACTIVATION_MAX_FAILURES_GLOBAL: '8',
        REUSEID_ACTIVATION_CODE_TTL_SECONDS: '600',
        REUSEID_ACTIVATION_FAILURE_WINDOW_SECONDS: '300',
        REUSEID_DEVICE_UPLOADS_PER_DEVICE: '1',
        REUSEID_DEVICE_UPLOADS_TOTAL: '2',
      });
      rp = await h.rp();
    });
    afterAll(() => h.close());

    const startOnboarding = async () =>
      (await rp.post('/reuseid/onboarding', {})).body.data as { activationCode: string; transactionId: string; userId: string };
    const activationProof = async (code: string) => {
      const key = await generateKeyPair('ES256', { extractable: true });
      return new CompactSign(new TextEncoder().encode(JSON.stringify({ activationCode: code, aud: PUBLIC_URL, iat: Math.floor(h.clock.now() / 1000) })))
        .setProtectedHeader({ alg: 'ES256', typ: 'reuseid-activation+jwt', jwk: await exportJWK(key.publicKey) })
        .sign(key.privateKey);
    };
    const activate = async (code: string, ip = '203.0.113.7', proof?: string) =>
      h.app.inject({
        method: 'POST',
        url: '/device/v1/activations',
        remoteAddress: ip,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ activationCode: code, proof: proof ?? (await activationProof(code)) }),
      });
    const resetCounters = () => h.ctx.store.db.deleteFrom('rate_counters').execute();

    it('stores activation codes only as keyed hashes', async () => {
      const start = await startOnboarding();
      const row = await h.ctx.store.db
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
      const devices = await h.ctx.store.db.selectFrom('devices').select('id').where('user_id', '=', start.userId).execute();
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

    const wrongCode = (i: number) => String(1000000000 + i);

    it('bounds wrong guesses per source prefix (/24 IPv4, /64 IPv6), not per address', async () => {
      await resetCounters();
      const start = await startOnboarding();
      for (let i = 0; i < 5; i++) expect((await activate(wrongCode(i), `192.0.2.${10 + i}`)).statusCode).toBe(400);
      const blocked = await activate(start.activationCode, '192.0.2.200');
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      await resetCounters();
      for (let i = 0; i < 5; i++) expect((await activate(wrongCode(i), `2001:db8:1:2::${i + 1}`)).statusCode).toBe(400);
      expect((await activate(start.activationCode, '2001:db8:1:2:ffff::1')).statusCode).toBe(429);
      // The bound lifts with the window, and the right code still works then.
      h.clock.advance(300_000);
      expect((await activate(start.activationCode, '192.0.2.10')).statusCode).toBe(200);
      h.clock.set(Date.now());
    });

    it('strangers guessing from many prefixes cannot lock a legitimate activation out', async () => {
      await resetCounters();
      const start = await startOnboarding();
      // Four /24s spend their whole budget: 20 attempts, far over the global bound of 8 failures per window.
      for (let net = 0; net < 4; net++) for (let i = 0; i < 5; i++) await activate(wrongCode(i), `198.18.${net}.${i + 1}`);
      expect((await activate(start.activationCode, '100.64.7.7')).statusCode).toBe(200);
      h.clock.set(Date.now());
    });

    it('over the global bound, guessing slows to one attempt per fresh site and window', async () => {
      await resetCounters();
      const start = await startOnboarding();
      const statuses: number[] = [];
      // Within the global bound of 8, a prefix has its own 5.
      for (let i = 0; i < 8; i++) statuses.push((await activate(wrongCode(i), `198.19.${i % 2}.1`)).statusCode);
      expect(statuses).toEqual(Array(8).fill(400));
      // Over it, a prefix that already tried waits, even under its own bound (198.19.0.0/24 has 4 of 5)...
      expect((await activate(start.activationCode, '198.19.0.1')).statusCode).toBe(429);
      // ...a fresh /24 gets one guess, then waits...
      expect((await activate(wrongCode(9), '192.0.2.1')).statusCode).toBe(400);
      expect((await activate(wrongCode(10), '192.0.2.2')).statusCode).toBe(429);
      // ...and a fresh IPv6 /48 gets one guess for all its /64s.
      expect((await activate(wrongCode(11), '2001:db8:5:1::1')).statusCode).toBe(400);
      expect((await activate(wrongCode(12), '2001:db8:5:2::1')).statusCode).toBe(429);
      expect((await activate(wrongCode(13), '2001:db8:5:3::1')).statusCode).toBe(429);
      // The code is still good for its owner coming from a network of their own.
      expect((await activate(start.activationCode, '203.0.113.50')).statusCode).toBe(200);
      h.clock.set(Date.now());
    });

    it('refuses an activation code past its own expiry', async () => {
      await resetCounters();
      const start = await startOnboarding();
      h.clock.advance(601_000);
      const later = await h.rp();
      h.clock.advance(-601_000);
      const row = await h.ctx.store.db
        .selectFrom('transactions')
        .select('activation_code_expires_at')
        .where('id', '=', start.transactionId)
        .executeTakeFirstOrThrow();
      await h.ctx.store.db
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
        const device = await h.device();
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
        const first = await h.app.inject({ method: 'GET', url: path, headers: { authorization: `ReuseID-Device ${jws}` } });
        expect(first.statusCode).toBe(200);
        const replay = await h.app.inject({ method: 'GET', url: path, headers: { authorization: `ReuseID-Device ${jws}` } });
        expect(replay.statusCode).toBe(401);
        expect(replay.json().detail).toContain('replay');
      });

      it('refuses requests bound to another URL, method or body, stale ones, and other keys', async () => {
        const { device, activation } = await activatedDevice();
        const path = `/device/v1/transactions/${activation.transactionId}`;
        const base = () => ({ htm: 'GET', htu: `${PUBLIC_URL}${path}`, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('hex'), bh: bh() });
        const attempt = async (claims: Record<string, unknown>, privateJwk = device.state.privateJwk) =>
          h.app.inject({ method: 'GET', url: path, headers: { authorization: `ReuseID-Device ${await sign(privateJwk, activation.deviceId, claims)}` } });
        expect((await attempt({ ...base(), htu: `${PUBLIC_URL}/device/v1/operations` })).statusCode).toBe(401);
        expect((await attempt({ ...base(), htm: 'POST' })).statusCode).toBe(401);
        expect((await attempt({ ...base(), bh: bh('{"x":1}') })).statusCode).toBe(401);
        expect((await attempt({ ...base(), iat: Math.floor(Date.now() / 1000) - 3600 })).statusCode).toBe(401);
        expect((await attempt({ ...base(), jti: undefined })).statusCode).toBe(401);
        const stranger = await generateKeyPair('ES256', { extractable: true });
        expect((await attempt(base(), await exportJWK(stranger.privateKey))).statusCode).toBe(401);
        expect((await attempt(base())).statusCode).toBe(200);
      });

      const capturePath = (transactionId: string) => `/device/v1/transactions/${transactionId}/proofing/signicatvideoid`;
      const signedHeader = async (device: Awaited<ReturnType<typeof activatedDevice>>, path: string, body: string) =>
        `ReuseID-Device ${await sign(device.device.state.privateJwk, device.activation.deviceId, {
          htm: 'POST',
          htu: `${PUBLIC_URL}${path}`,
          iat: Math.floor(Date.now() / 1000),
          jti: randomBytes(16).toString('hex'),
          bh: bh(body),
        })}`;
      const sockets: Socket[] = [];
      /** Sends the headers of an upload declaring 45 MiB and its first 64 KiB, no more; `answered` is the status line. */
      const partialUpload = async (path: string, authorization: string) => {
        if (!h.app.server.listening) await h.app.listen({ port: 0, host: '127.0.0.1' });
        const { port } = h.app.server.address() as { port: number };
        const socket = connect(port, '127.0.0.1');
        sockets.push(socket);
        const head = `POST ${path} HTTP/1.1\r\nHost: reuseid.test\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: ${45 * 1024 * 1024}\r\n\r\n`;
        socket.write(`${head}{"docType":1,"documentFront":"${'A'.repeat(64 * 1024)}`);
        const answered = new Promise<string>((resolve, reject) => {
          let received = '';
          socket.on('data', (chunk) => {
            received += chunk.toString();
            if (received.includes('\r\n')) resolve(received.slice(0, received.indexOf('\r\n')));
          });
          socket.on('error', reject);
        });
        return { socket, answered };
      };
      afterAll(() => {
        for (const socket of sockets) socket.destroy();
      });

      it('refuses an upload whose signature does not verify before reading its body', async () => {
        const stranger = await generateKeyPair('ES256');
        const claims = new TextEncoder().encode(JSON.stringify({ htm: 'POST', iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('hex') }));
        const withoutKid = await new CompactSign(claims).setProtectedHeader({ alg: 'ES256', typ: 'reuseid-device+jwt' }).sign(stranger.privateKey);
        const unknownKid = await new CompactSign(claims)
          .setProtectedHeader({ alg: 'ES256', typ: 'reuseid-device+jwt', kid: randomUUID() })
          .sign(stranger.privateKey);
        for (const credential of ['x', withoutKid, unknownKid]) {
          // The server answers while 45 MiB are still unsent: it never waited for (or buffered) the body.
          const { socket, answered } = await partialUpload(capturePath(randomUUID()), `ReuseID-Device ${credential}`);
          expect(await answered).toMatch(/^HTTP\/1\.1 401 /);
          socket.destroy();
        }
      });

      it('bounds uploads in flight per device (429) and in total (503), and frees a slot when an upload ends', async () => {
        const [a, b, c] = [await activatedDevice(), await activatedDevice(), await activatedDevice()];
        const upload = async (device: typeof a) => {
          const path = capturePath(device.activation.transactionId);
          const response = await h.app.inject({
            method: 'POST',
            url: path,
            headers: { authorization: await signedHeader(device, path, '{}'), 'content-type': 'application/json' },
            payload: '{}',
          });
          return response.statusCode;
        };
        // A held upload holds its slot from the moment its signature verified, which is when its nonce is stored.
        const nonces = async (device: typeof a) =>
          Number(
            (
              await h.ctx.store.db
                .selectFrom('device_request_nonces')
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .where('device_id', '=', device.activation.deviceId)
                .executeTakeFirstOrThrow()
            ).n,
          );
        const hold = async (device: typeof a) => {
          const path = capturePath(device.activation.transactionId);
          const before = await nonces(device);
          const held = await partialUpload(path, await signedHeader(device, path, ''));
          await expect.poll(() => nonces(device), { timeout: 15_000, interval: 50 }).toBe(before + 1);
          return held;
        };
        const held = await hold(a);
        expect(await upload(a)).toBe(429);
        expect(await upload(b)).toBe(422); // another device is not held back by a's upload
        const other = await hold(b);
        expect(await upload(b)).toBe(429);
        expect(await upload(c)).toBe(503);
        held.socket.destroy();
        await expect.poll(() => upload(c), { timeout: 15_000, interval: 200 }).toBe(422);
        other.socket.destroy();
      });

      it("refuses a locked device, and a device reading another device's transaction gets 404", async () => {
        const first = await activatedDevice();
        const second = await activatedDevice();
        await expect(second.device.transaction(first.activation.transactionId)).rejects.toMatchObject({ status: 404 });
        await h.ctx.store.db.updateTable('devices').set({ state: 'LOCKED' }).where('id', '=', first.activation.deviceId).execute();
        const refused = await first.device.transaction(first.activation.transactionId).catch((e: DeviceApiError) => e);
        expect(refused).toBeInstanceOf(DeviceApiError);
        expect((refused as DeviceApiError).status).toBe(401);
      });
    });
  });
}
