import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/migrations/index.js';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { migrateToLatest } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';
import { fileBacked } from '../support/file-database.js';
import { createHarness, TEST_MASTER_KEY, type Harness, type Rp } from '../support/harness.js';
import { startReceiver, type Receiver } from './receiver.js';

/** Webhook target URLs carry tokens: the database keeps them sealed (migration 008), the account still sees them. */
const TOKEN = 'tok-6f1c0e9a2b';

for (const database of testDatabases) {
  describe(`webhook URLs at rest (${database.name})`, () => {
    let h: Harness;
    let rp: Rp;
    let receiver: Receiver;
    beforeAll(async () => {
      // On a file, so that a server process of its own can start on the same database.
      h = await createHarness(fileBacked(database), { REUSEID_WEBHOOK_ALLOW_PRIVATE: 'true' });
      rp = await h.rp({ account: 'sealed', permissions: ['events'] });
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver.stop();
      await h.close();
    });

    const subscriptionsDump = async () => JSON.stringify((await sql`select * from webhook_subscriptions`.execute(h.ctx.store.db)).rows);
    const rowOf = (id: string) =>
      h.ctx.store.db.selectFrom('webhook_subscriptions').select(['url', 'url_sealed']).where('id', '=', id).executeTakeFirstOrThrow();

    /** Sends the subscription a test event and returns the path the receiver was called on. */
    async function deliveredPath(id: string): Promise<string | undefined> {
      const before = receiver.requests.length;
      expect((await rp.post(`/events/subscriptions/${id}/test`, {})).status).toBe(202);
      await h.ctx.webhooks.worker.tick();
      return receiver.requests.slice(before).at(-1)?.path;
    }

    it('stores no clear URL; the account reads it back and deliveries still go out', async () => {
      const url = `${receiver.url}?token=${TOKEN}`;
      const created = await rp.post('/events/subscriptions', { name: 'crm', url });
      expect(created.body.url).toBe(url);
      const id = created.body.id as string;
      expect(await rowOf(id)).toEqual({ url: '', url_sealed: expect.any(String) });
      expect(await subscriptionsDump()).not.toContain(TOKEN);
      expect((await rp.get(`/events/subscriptions/${id}`)).body.url).toBe(url);
      expect((await rp.get('/events/subscriptions')).body.items.map((s: { url: string }) => s.url)).toContain(url);
      expect(await deliveredPath(id)).toBe(`/hook?token=${TOKEN}`);

      const moved = `${receiver.url}/v2?token=${TOKEN}-2`;
      const patched = await h.app.inject({
        method: 'PATCH',
        url: `/events/subscriptions/${id}`,
        headers: { authorization: `Bearer ${rp.token}` },
        payload: { url: moved },
      });
      expect(patched.json().url).toBe(moved);
      expect(await subscriptionsDump()).not.toContain(TOKEN);
      expect(await deliveredPath(id)).toBe(`/hook/v2?token=${TOKEN}-2`);
    });

    it('converts the rows of a database from before migration 008: delivered meanwhile, sealed at start, not undone', async () => {
      const migrator = new Migrator({ db: h.ctx.store.db, provider: { getMigrations: async () => migrations } });
      await h.ctx.store.db.deleteFrom('webhook_subscriptions').execute(); // down is refused while sealed URLs exist
      const down = await migrator.migrateTo('006_binding');
      expect(down.error).toBeUndefined();
      const url = `${receiver.url}/legacy?token=${TOKEN}`;
      const now = h.clock.now();
      // The row as the server wrote it before 008 (no url_sealed column yet); its secret sealed as always.
      await sql`insert into webhook_subscriptions (id, account_id, name, url, event_names, secret_sealed, created_at, updated_at)
        values (${'00000000-0000-4000-8000-000000000008'}, ${rp.accountId}, ${'legacy'}, ${url}, ${null},
                ${h.ctx.keyring.serverCipher().seal('whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=', 'webhook-secret:00000000-0000-4000-8000-000000000008')},
                ${now}, ${now})`.execute(h.ctx.store.db);
      expect(await migrateToLatest(h.ctx.store.db)).toContain('008_sealed_webhook_urls');
      const id = '00000000-0000-4000-8000-000000000008';

      // Not sealed yet (the server has not started since): still read and delivered.
      expect(await rowOf(id)).toEqual({ url, url_sealed: null });
      expect((await rp.get(`/events/subscriptions/${id}`)).body.url).toBe(url);
      expect(await deliveredPath(id)).toBe(`/hook/legacy?token=${TOKEN}`);

      // A server start seals it and empties the clear column; a second start finds nothing to do.
      const server = await startServer(
        loadConfig({
          REUSEID_DATABASE_URL: h.ctx.config.databaseUrl,
          REUSEID_MASTER_KEY: TEST_MASTER_KEY.toString('base64'),
          PORT: '0',
          HOST: '127.0.0.1',
          REUSEID_LOG_LEVEL: 'silent',
        }),
      );
      await server.stop();
      expect(await h.ctx.webhooks.subscriptions.sealClearUrls()).toBe(0);
      expect(await rowOf(id)).toEqual({ url: '', url_sealed: expect.any(String) });
      expect(await subscriptionsDump()).not.toContain(TOKEN);
      expect((await rp.get(`/events/subscriptions/${id}`)).body.url).toBe(url);
      expect(await deliveredPath(id)).toBe(`/hook/legacy?token=${TOKEN}`);

      // Undoing 008 now would lose the URLs: refused.
      expect((await migrator.migrateTo('006_binding')).error).toBeInstanceOf(Error);
      expect(await rowOf(id)).toMatchObject({ url: '' });
      await migrateToLatest(h.ctx.store.db);
    });
  });
}
