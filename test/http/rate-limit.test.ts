import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createContext } from '../../src/context.js';
import { testDatabases } from '../support/databases.js';
import { forgedDeviceRequests } from '../support/forged-device.js';
import { createHarness, TEST_MASTER_KEY, TIGHT_REQUEST_LIMITS, type Harness } from '../support/harness.js';

for (const database of testDatabases) {
  describe(`rate limits shared by every instance (${database.name})`, () => {
    let h: Harness;
    let second: Awaited<ReturnType<typeof buildApp>>;
    let secondContext: ReturnType<typeof createContext>;
    beforeAll(async () => {
      h = await createHarness(database, TIGHT_REQUEST_LIMITS);
      // A second instance on the same database, as behind a load balancer.
      secondContext = createContext({ config: h.ctx.config, store: h.ctx.store, masterKey: TEST_MASTER_KEY, clock: h.clock });
      second = await buildApp(secondContext);
    });
    afterAll(async () => {
      await second.close();
      await h.close();
    });

    it('limits token requests per client across instances, with Retry-After', async () => {
      const client = await h.ctx.clients.create(h.ctx.store.db, { name: 'busy', permissions: ['reuseid-onboarding'] });
      const request = (app: typeof second) =>
        app.inject({
          method: 'POST',
          url: '/auth/open/connect/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
        });
      // SQLite runs one server process (it holds the file's lock) and counts load limits in its memory: there, one instance.
      const other = database.name === 'sqlite' ? h.app : second;
      const sync = (app: typeof second) => (app === second ? secondContext : h.ctx).rateCounters.sync?.();
      const statuses: number[] = [];
      const send = async (app: typeof second, n: number) => {
        for (let i = 0; i < n; i++) statuses.push((await request(app)).statusCode);
        await sync(app);
      };
      // On PostgreSQL each instance counts in memory and shares its counts every second (SyncedCounters); the syncs
      // run here when the test says. The first instance counts 2; the second, new to the key, its own 2 (4 in all),
      // and reads the 4 back at its sync: it refuses the next.
      await send(h.app, 2);
      await send(other, 2);
      await send(other, 1);
      expect(statuses).toEqual([200, 200, 200, 200, 429]);
      // The first instance still decides with what it read at its last sync (its own 2): it admits one more, the
      // documented tolerance (what an instance admits before its next sync), then reads all 5 back and refuses.
      await send(h.app, 1);
      await send(h.app, 1);
      expect(statuses.slice(5)).toEqual(database.name === 'sqlite' ? [429, 429] : [200, 429]);
      const refused = await request(h.app);
      expect(refused.json()).toMatchObject({ code: 'too_many_requests', status: 429 });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      h.clock.advance(60_000);
      expect((await request(other)).statusCode).toBe(200);
      h.clock.set(Date.now());
    });

    it('counts wrong secrets per client id and source, so a stranger cannot stop a client getting tokens', async () => {
      const client = await h.ctx.clients.create(h.ctx.store.db, { name: 'target', permissions: ['reuseid-onboarding'] });
      const request = (secret: string, remoteAddress: string) =>
        h.app.inject({
          method: 'POST',
          url: '/auth/open/connect/token',
          remoteAddress,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${secret}`,
        });
      const stranger = [];
      for (let i = 0; i < 8; i++) stranger.push((await request('rsec_guess', '203.0.113.9')).statusCode);
      expect(stranger).toEqual([401, 401, 401, 401, 429, 429, 429, 429]);
      const rp = [];
      for (let i = 0; i < 5; i++) rp.push((await request(client.clientSecret, '192.0.2.10')).statusCode);
      expect(rp).toEqual([200, 200, 200, 200, 429]);
      expect((await request('rsec_guess', '192.0.2.10')).statusCode).toBe(401);
    });

    it('limits signed requests per device and activations per source', async () => {
      const rp = await h.rp();
      const start = (await rp.post('/reuseid/onboarding', {})).body.data;
      const device = await h.device();
      const activation = await device.activate(start.activationCode);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push(
          await device.transaction(activation.transactionId).then(
            () => 200,
            (e: { status: number }) => e.status,
          ),
        );
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const activations = [];
      for (let i = 0; i < 4; i++) {
        const res = await second.inject({
          method: 'POST',
          url: '/device/v1/activations',
          remoteAddress: '198.51.100.77',
          headers: { 'content-type': 'application/json' },
          payload: { activationCode: '0000000000', proof: 'x' },
        });
        activations.push(res.statusCode);
      }
      expect(activations.slice(3)).toEqual([429]);
      expect(activations.slice(0, 3).every((s) => s !== 429)).toBe(true);
    });

    it('counts an IPv6 source by its /64 and an IPv4 source by its address, so rotating addresses in a /64 gains nothing', async () => {
      const activate = async (remoteAddress: string) =>
        (
          await second.inject({
            method: 'POST',
            url: '/device/v1/activations',
            remoteAddress,
            headers: { 'content-type': 'application/json' },
            payload: { activationCode: '0000000000', proof: 'x' },
          })
        ).statusCode;
      // Four addresses of one /64: the fourth request of that subscriber is over the bound of 3.
      const v6 = [];
      for (let i = 1; i <= 4; i++) v6.push(await activate(`2001:db8:77:1::${i.toString(16)}`));
      expect(v6.slice(0, 3).every((s) => s !== 429)).toBe(true);
      expect(v6[3]).toBe(429);
      expect(await activate('2001:db8:77:2::1')).not.toBe(429); // the next /64 is another subscriber
      // Neighbours in one IPv4 /24 (customers behind carrier-grade NAT pools) keep budgets of their own.
      const v4 = [];
      for (let i = 1; i <= 4; i++) v4.push(await activate(`203.0.113.${i}`));
      expect(v4.every((s) => s !== 429)).toBe(true);
    });

    it('counts device requests per device only once signed, so a stranger naming a device cannot exhaust its limit', async () => {
      const rp = await h.rp();
      const start = (await rp.post('/reuseid/onboarding', {})).body.data;
      const device = await h.device();
      const { transactionId } = await device.activate(start.activationCode);
      const forged = await forgedDeviceRequests(h, `/device/v1/transactions/${transactionId}`, device.state.deviceId!, '203.0.113.66');
      const stranger = [];
      for (let i = 0; i < 6; i++) stranger.push(await forged());
      expect(stranger).toEqual([401, 401, 401, 429, 429, 429]);
      const real = [];
      for (let i = 0; i < 4; i++)
        real.push(
          await device.transaction(transactionId).then(
            () => 200,
            (e: { status: number }) => e.status,
          ),
        );
      expect(real).toEqual([200, 200, 200, 429]);
    });
  });
}
