import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENT_NAMES } from '../../src/events/catalogue.js';
import { registerEventCommands } from '../../src/events/cli.js';
import { parseWebhookUrl, resolveWebhookTarget, type Resolver } from '../../src/events/ssrf.js';
import { createWebhooks } from '../../src/events/webhooks.js';
import { postWebhook } from '../../src/events/transport.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, type Harness, type Rp } from '../support/harness.js';
import { fileBacked } from '../support/file-database.js';
import { startReceiver } from './receiver.js';

const fixed =
  (address: string): Resolver =>
  async () => [{ address, family: address.includes(':') ? 6 : 4 }];

describe('SSRF guard', () => {
  const refuse = async (url: string, resolve: Resolver = fixed('93.184.215.14')) =>
    resolveWebhookTarget(parseWebhookUrl(url, false), { allowPrivate: false, resolve }).then(
      () => 'accepted',
      (e: Error) => e.message,
    );

  it('admits https URLs resolving only to public addresses', async () => {
    expect(await refuse('https://hooks.example.com/x')).toBe('accepted');
    expect(await refuse('https://93.184.215.14/x')).toBe('accepted');
  });

  it('refuses non-public addresses, literal or resolved, and any mix of answers', async () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://10.1.2.3/',
      'https://169.254.169.254/latest',
      'https://[::1]/',
      'https://[fd00::1]/',
      'https://0.0.0.0/',
      'https://[::ffff:127.0.0.1]/',
      'https://224.0.0.1/',
      'https://100.64.0.1/',
    ]) {
      expect(await refuse(url), url).toMatch(/non-public address/);
    }
    expect(await refuse('https://rebind.example.com/', fixed('192.168.1.10'))).toMatch(/non-public address \(private\)/);
    expect(
      await refuse('https://mixed.example.com/', async () => [
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]),
    ).toMatch(/loopback/);
    expect(await refuse('https://nowhere.example.com/', async () => Promise.reject(new Error('ENOTFOUND')))).toMatch(/could not be resolved/);
  });

  it('requires https, refuses other schemes and credentials; the override admits http', () => {
    expect(() => parseWebhookUrl('http://hooks.example.com/', false)).toThrow(/https is required/);
    expect(() => parseWebhookUrl('ftp://hooks.example.com/', true)).toThrow(/only http and https/);
    expect(() => parseWebhookUrl('https://user:pw@hooks.example.com/', false)).toThrow(/credentials/);
    expect(parseWebhookUrl('http://127.0.0.1:9/', true).port).toBe('9');
  });

  it('connects to the address that was checked, whatever the name resolves to later', async () => {
    const receiver = await startReceiver();
    const url = new URL(receiver.url.replace('127.0.0.1', 'hooks.invalid'));
    const response = await postWebhook(url, { address: '127.0.0.1', family: 4 }, { 'webhook-id': 'msg_1' }, '{}');
    expect(response.statusCode).toBe(204);
    expect(receiver.requests[0]!.headers.host).toBe(url.host);
    await receiver.stop();
  });
});

for (const database of testDatabases) {
  describe(`webhook subscriptions API (${database.name})`, () => {
    let h: Harness;
    let rp: Rp;
    let strict: Harness;
    beforeAll(async () => {
      h = await createHarness(database, { REUSEID_WEBHOOK_ALLOW_PRIVATE: 'true' });
      strict = await createHarness(database);
      rp = await h.rp({ account: 'alpha', permissions: ['events'] });
    });
    afterAll(async () => {
      await h.close();
      await strict.close();
    });

    const request = (who: Rp, method: 'PATCH' | 'DELETE', path: string, body?: unknown) =>
      h.app.inject({ method, url: path, headers: { authorization: `Bearer ${who.token}` }, ...(body === undefined ? {} : { payload: body as object }) });

    it('creates, lists, reads, updates and deletes subscriptions; the secret is shown only on creation', async () => {
      const created = await rp.post('/events/subscriptions', { name: 'crm', url: 'http://127.0.0.1:9/hook', eventNames: ['onboarding.completed'] });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'crm', url: 'http://127.0.0.1:9/hook', eventNames: ['onboarding.completed'], enabled: true });
      expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const id = created.body.id as string;
      const got = await rp.get(`/events/subscriptions/${id}`);
      expect(got.body.secret).toBeUndefined();
      expect((await rp.get('/events/subscriptions')).body.items.map((s: { id: string }) => s.id)).toContain(id);
      const patched = await request(rp, 'PATCH', `/events/subscriptions/${id}`, { name: 'crm 2', eventNames: null });
      expect(patched.json()).toMatchObject({ name: 'crm 2', eventNames: null, url: 'http://127.0.0.1:9/hook' });
      const row = await h.ctx.store.db.selectFrom('webhook_subscriptions').select('secret_sealed').where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.secret_sealed).not.toContain(created.body.secret.slice(6, 20));
      expect((await request(rp, 'DELETE', `/events/subscriptions/${id}`)).statusCode).toBe(204);
      expect((await rp.get(`/events/subscriptions/${id}`)).body).toMatchObject({ status: 404, code: 'subscription_not_found' });
      await h.ctx.auditSequencer.sequenceNow();
      const audit = await h.ctx.store.db.selectFrom('audit_items').select(['event_type', 'body']).where('reference_id', '=', id).orderBy('sequence').execute();
      expect(audit.map((a) => a.event_type)).toEqual(['subscription.created', 'subscription.updated', 'subscription.deleted']);
      for (const item of audit) {
        expect(JSON.parse(item.body)).toMatchObject({ clientId: rp.clientId, data: { subscriptionId: id, host: '127.0.0.1:9' } });
        expect(item.body).not.toContain('/hook');
      }
    });

    it('validates bodies with one invalidParams entry per bad field', async () => {
      const bad = await rp.post('/events/subscriptions', { name: '', url: 'x'.repeat(3000), eventNames: ['onboarding.completed', 'not ok'], extra: 1 });
      expect(bad.status).toBe(422);
      expect(bad.body.invalidParams.map((p: { name: string }) => p.name).sort()).toEqual(['eventNames.1', 'extra', 'name', 'url']);
      expect((await rp.post('/events/subscriptions', { name: 'x', url: 'ftp://127.0.0.1/' })).body.invalidParams).toEqual([
        { name: 'url', reason: 'only http and https URLs are supported' },
      ]);
    });

    it('accepts only event names of the published catalogue, on create and on update', async () => {
      const all = await rp.post('/events/subscriptions', { name: 'all', url: 'http://127.0.0.1:9/hook', eventNames: [...EVENT_NAMES] });
      expect(all.status).toBe(201);
      expect(all.body.eventNames).toEqual([...EVENT_NAMES]);

      const typo = await rp.post('/events/subscriptions', { name: 'typo', url: 'http://127.0.0.1:9/hook', eventNames: ['onboarding.complete'] });
      expect(typo.status).toBe(422);
      expect(typo.body).toMatchObject({ code: 'invalid_request_parameter', invalidParams: [{ name: 'eventNames.0' }] });
      expect(typo.body.invalidParams[0].reason).toContain('onboarding.completed');

      const patched = await request(rp, 'PATCH', `/events/subscriptions/${all.body.id}`, { eventNames: ['stepup.completed', 'user.created'] });
      expect(patched.statusCode).toBe(422);
      expect(patched.json().invalidParams.map((p: { name: string }) => p.name)).toEqual(['eventNames.1']);
      expect((await rp.get(`/events/subscriptions/${all.body.id}`)).body.eventNames).toEqual([...EVENT_NAMES]);
    });

    it('refuses private, loopback and plain-http targets by default', async () => {
      const owner = await strict.rp({ permissions: ['events'] });
      for (const url of [
        'https://127.0.0.1/hook',
        'https://localhost/hook',
        'https://[::1]/hook',
        'https://169.254.169.254/',
        'https://10.0.0.8/',
        'http://example.com/hook',
      ]) {
        const res = await owner.post('/events/subscriptions', { name: 'x', url });
        expect(res.status, url).toBe(422);
        expect(res.body.invalidParams[0].name).toBe('url');
      }
      expect((await owner.get('/events/subscriptions')).body.items).toEqual([]);
    });

    it('re-checks the target at send time: a name that now resolves to a private address is not called', async () => {
      const receiver = await startReceiver();
      const owner = await strict.rp({ account: 'rebinding', permissions: ['events'] });
      const ctx = strict.ctx;
      // Created while the name resolved to a public address, then the DNS answer changes to the receiver on loopback.
      let answer = '93.184.215.14';
      const webhooks = createWebhooks({
        store: ctx.store,
        clock: ctx.clock,
        random: ctx.random,
        cipher: ctx.keyring.serverCipher(),
        audit: ctx.audit,
        outbox: ctx.outbox,
        config: ctx.config.webhooks,
        resolve: async () => [{ address: answer, family: 4 }],
      });
      const created = await webhooks.subscriptions.create(
        owner.accountId,
        { name: 'r', url: `https://rebind.example.com:${new URL(receiver.url).port}/hook` },
        {},
      );
      answer = '127.0.0.1';
      await ctx.store.db.transaction().execute((trx) => ctx.outbox.enqueue(trx, owner.accountId, 'device.state.change', {}));
      await webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(0);
      const [delivery] = await webhooks.deliveries.list(owner.accountId, created.id, { limit: 10 });
      expect(delivery).toMatchObject({
        status: 'pending',
        lastStatusCode: null,
        lastError: expect.stringMatching(/^refused: .*non-public address \(loopback\)/),
      });
      await receiver.stop();
    });

    it("answers 404 for another account's subscriptions and deliveries, and lists only its own", async () => {
      const receiver = await startReceiver();
      const created = await rp.post('/events/subscriptions', { name: 'mine', url: receiver.url });
      const id = created.body.id as string;
      const test = await rp.post(`/events/subscriptions/${id}/test`, {});
      await h.ctx.webhooks.worker.tick();
      const other = await h.rp({ account: 'beta', permissions: ['events'] });
      const attempts = [
        await other.get(`/events/subscriptions/${id}`),
        await other.get(`/events/subscriptions/${id}/deliveries`),
        await other.post(`/events/subscriptions/${id}/rotate-secret`, {}),
        await other.post(`/events/subscriptions/${id}/test`, {}),
        await other.get(`/events/deliveries/${test.body.id}`),
        await other.post(`/events/deliveries/${test.body.id}/redeliver`, {}),
      ].map((r) => ({ status: r.status, body: r.body }));
      const patch = await request(other, 'PATCH', `/events/subscriptions/${id}`, { enabled: false });
      const remove = await request(other, 'DELETE', `/events/subscriptions/${id}`);
      for (const response of [...attempts, { status: patch.statusCode, body: patch.json() }, { status: remove.statusCode, body: remove.json() }]) {
        expect(response.status).toBe(404);
        expect(JSON.stringify(response.body)).not.toContain(receiver.url);
      }
      expect((await other.get('/events/subscriptions')).body.items).toEqual([]);
      expect((await rp.get(`/events/subscriptions/${id}`)).body.enabled).toBe(true);
      for (let i = 0; i < 2; i++) {
        h.clock.advance(1); // distinct creation times, so that "newest first" is the order they were sent in
        await rp.post(`/events/subscriptions/${id}/test`, {});
      }
      const all = (await rp.get(`/events/subscriptions/${id}/deliveries`)).body.items.map((d: { id: string }) => d.id);
      expect(all).toHaveLength(3);
      expect(all[2]).toBe(test.body.id);
      const first = (await rp.get(`/events/subscriptions/${id}/deliveries?limit=2`)).body.items.map((d: { id: string }) => d.id);
      const rest = (await rp.get(`/events/subscriptions/${id}/deliveries?limit=2&before=${first[1]}`)).body.items.map((d: { id: string }) => d.id);
      expect([...first, ...rest]).toEqual(all);
      await receiver.stop();
    });

    it('documents the events and audit endpoints in the OpenAPI document', async () => {
      const doc = (await h.app.inject({ method: 'GET', url: '/reuseid/openapi.json' })).json();
      for (const path of [
        '/events/subscriptions',
        '/events/subscriptions/{id}/rotate-secret',
        '/events/deliveries/{deliveryId}/redeliver',
        '/audit/query',
        '/audit/items/{cursor}',
      ]) {
        expect(Object.keys(doc.paths)).toContain(path);
      }
      expect(JSON.stringify(doc.paths['/events/subscriptions'].post)).toMatch(/REUSEID_WEBHOOK_ALLOW_PRIVATE/);
    });

    it('requires the events permission', async () => {
      const onboardingOnly = await h.rp({ permissions: ['reuseid-onboarding'] });
      const res = await onboardingOnly.get('/events/subscriptions');
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('insufficient_permissions');
    });
  });

  describe(`reuseid events subscriptions (${database.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(fileBacked(database));
    });
    afterAll(() => h.close());

    async function cli(...args: string[]): Promise<any> {
      const program = new Command().exitOverride();
      registerEventCommands(program);
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await program.parseAsync(['node', 'reuseid', 'events', 'subscriptions', ...args, '--database', h.ctx.config.databaseUrl, '--json']);
        return JSON.parse(String(log.mock.calls.at(-1)?.[0]));
      } finally {
        log.mockRestore();
      }
    }

    it('creates, lists and deletes subscriptions of an account, audited', async () => {
      const rp = await h.rp({ account: 'cli-acct', permissions: ['events'] });
      vi.stubEnv('REUSEID_MASTER_KEY', Buffer.alloc(32, 7).toString('hex'));
      vi.stubEnv('REUSEID_WEBHOOK_ALLOW_PRIVATE', 'true');
      try {
        const created = await cli(
          'create',
          '--account',
          'cli-acct',
          '--name',
          'ops',
          '--url',
          'http://127.0.0.1:9/h',
          '--event',
          'device.state.change',
          'onboarding.failed',
        );
        expect(created).toMatchObject({ name: 'ops', eventNames: ['device.state.change', 'onboarding.failed'], enabled: true });
        expect(created.secret).toMatch(/^whsec_/);
        // The API (same master key) sees it, and the sealed secret opens: it signs.
        expect((await rp.get(`/events/subscriptions/${created.id}`)).body.name).toBe('ops');
        const row = await h.ctx.store.db.selectFrom('webhook_subscriptions').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
        expect(h.ctx.webhooks.subscriptions.signingSecrets(row, Date.now())).toEqual([created.secret]);
        expect((await cli('list', '--account', 'cli-acct')).items.map((s: { id: string }) => s.id)).toEqual([created.id]);
        expect(await cli('delete', created.id, '--account', 'cli-acct')).toEqual({ deleted: created.id });
        expect((await cli('list', '--account', 'cli-acct')).items).toEqual([]);
        await expect(cli('delete', created.id, '--account', 'cli-acct')).rejects.toThrow(/No webhook subscription/);
        await expect(cli('list', '--account', 'nobody')).rejects.toThrow(/No account nobody/);
        await h.ctx.auditSequencer.sequenceNow();
        const audit = await h.ctx.store.db.selectFrom('audit_items').select('event_type').where('reference_id', '=', created.id).orderBy('sequence').execute();
        expect(audit.map((a) => a.event_type)).toEqual(['subscription.created', 'subscription.deleted']);
      } finally {
        vi.unstubAllEnvs();
      }
    });
  });
}
