import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ReuseIdClient, ReuseIdError, verifyWebhook, type FetchLike, type RetryOptions } from '../../src/client/index.js';
import type { Permission } from '../../src/oauth/permissions.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, PUBLIC_URL, type Harness } from '../support/harness.js';
import { startReceiver } from '../events/receiver.js';

/**
 * The RP client against the app: its requests go through an injected fetch into `app.inject`, which can also lose or
 * replace answers, so that token caching, retries and error mapping are seen against the real endpoints.
 */
const TOKEN_PATH = '/auth/open/connect/token';
const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };
const ALL: Permission[] = ['reuseid-onboarding', 'reuseid-users', 'events', 'audit'];

interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Decides an answer: forward() asks the app; a test may throw instead (a lost connection) or answer itself. */
type Intercept = (request: SeenRequest, forward: () => Promise<Response>) => Promise<Response>;

function injectFetch(app: FastifyInstance, log: SeenRequest[], intercept: Intercept = (_request, forward) => forward()): FetchLike {
  return async (url, init) => {
    const { pathname, search } = new URL(url);
    const request: SeenRequest = {
      method: init.method ?? 'GET',
      path: pathname + search,
      headers: { ...(init.headers as Record<string, string>) },
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
    };
    log.push(request);
    return intercept(request, async () => {
      const answer = await app.inject({
        method: request.method as 'GET',
        url: request.path,
        headers: request.headers,
        ...(request.body === undefined ? {} : { payload: request.body }),
      });
      const headers = new Headers();
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) headers.set(name, String(value));
      return new Response(answer.statusCode === 204 ? null : answer.body, { status: answer.statusCode, headers });
    });
  };
}

const problem = (status: number, code: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: `urn:reuseid:error:${code}`, title: code, code, status, traceId: 'trace-from-test', detail: `${code} from the test` }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });

for (const database of testDatabases) {
  describe(`RP client against the app (${database.name})`, () => {
    let h: Harness;
    let accounts = 0;
    beforeAll(async () => {
      h = await createHarness(database, { REUSEID_WEBHOOK_ALLOW_PRIVATE: 'true' });
    });
    afterAll(() => h.close());
    beforeEach(() => h.clock.set(Date.now())); // device proofs are checked against real time

    /** A client of a fresh account; its clock is the server's unless the test gives one (and sleeping only records). */
    async function rp(options: { permissions?: Permission[]; intercept?: Intercept; tokenTtlSeconds?: number; retry?: RetryOptions; now?: () => number } = {}) {
      const api = await h.ctx.clients.create(h.ctx.store.db, {
        name: 'client test',
        accountId: `client-${database.name}-${++accounts}`,
        permissions: options.permissions ?? ALL,
        ...(options.tokenTtlSeconds ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}),
      });
      const requests: SeenRequest[] = [];
      const sleeps: number[] = [];
      const client = new ReuseIdClient({
        baseUrl: `${PUBLIC_URL}/`,
        clientId: api.clientId,
        clientSecret: api.clientSecret,
        fetch: injectFetch(h.app, requests, options.intercept),
        clock: { now: options.now ?? (() => h.clock.now()), sleep: async (ms) => void sleeps.push(ms) },
        ...(options.retry ? { retry: options.retry } : {}),
      });
      const tokenRequests = () => requests.filter((r) => r.path === TOKEN_PATH);
      const calls = (path: string) => requests.filter((r) => r.path === path);
      return { client, api, requests, sleeps, tokenRequests, calls };
    }

    async function onboarded(client: ReuseIdClient) {
      const started = await client.startOnboarding({ externalRef: 'customer-17' });
      const device = await h.device();
      const activation = await device.activate(started.activationCode!);
      await device.call('POST', `/device/v1/transactions/${started.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: JANE });
      return { started, device, deviceId: activation.deviceId };
    }

    describe('tokens', () => {
      it('fetches one client-credentials token with Basic auth and shares it among concurrent and later calls', async () => {
        const { client, api, tokenRequests } = await rp();
        const started = await Promise.all([client.startOnboarding(), client.startOnboarding(), client.listSubscriptions(), client.queryAudit()]);
        expect(started[0].transactionId).not.toBe(started[1].transactionId);
        await client.getOnboarding(started[0].transactionId);
        expect(tokenRequests()).toHaveLength(1);
        const [request] = tokenRequests();
        expect(request!.method).toBe('POST');
        expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
        expect(request!.body).toBe('grant_type=client_credentials');
        expect(Buffer.from(request!.headers.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe(`${api.clientId}:${api.clientSecret}`);
      });

      it.each([
        { when: '30 s before it expires', tokenTtlSeconds: undefined, refreshAtSeconds: 570 }, // the default 600 s lifetime
        { when: '10% of its lifetime before it expires, for short-lived tokens', tokenTtlSeconds: 100, refreshAtSeconds: 90 },
      ])('refreshes a token $when', async ({ tokenTtlSeconds, refreshAtSeconds }) => {
        const { client, tokenRequests } = await rp(tokenTtlSeconds ? { tokenTtlSeconds } : {});
        await client.listSubscriptions();
        h.clock.advance((refreshAtSeconds - 1) * 1000);
        await client.listSubscriptions();
        expect(tokenRequests()).toHaveLength(1);
        h.clock.advance(2_000);
        await client.listSubscriptions();
        expect(tokenRequests()).toHaveLength(2);
      });

      it('on a 401 invalid_token fetches a new token and sends the call once more', async () => {
        const frozen = h.clock.now();
        const { client, tokenRequests, calls } = await rp({ now: () => frozen });
        await client.listSubscriptions();
        h.clock.advance(601_000); // the server sees the cached token expired; the client does not know yet
        expect(await client.listSubscriptions()).toEqual([]);
        expect(tokenRequests()).toHaveLength(2);
        const [first, second, third] = calls('/events/subscriptions');
        expect(third!.headers.authorization).not.toBe(second!.headers.authorization);
        expect(second!.headers.authorization).toBe(first!.headers.authorization);
      });

      it('refreshes only once: a second 401 is thrown', async () => {
        const { client, tokenRequests } = await rp({
          intercept: async (request, forward) => (request.path === TOKEN_PATH ? forward() : problem(401, 'invalid_token')),
        });
        await expect(client.getUser('u1')).rejects.toMatchObject({ name: 'ReuseIdError', status: 401, code: 'invalid_token', traceId: 'trace-from-test' });
        expect(tokenRequests()).toHaveLength(2);
      });

      it("maps the token endpoint's RFC 6749 error, with the trace id of its X-TRACE-ID header", async () => {
        const { client, api } = await rp();
        const wrong = new ReuseIdClient({ baseUrl: PUBLIC_URL, clientId: api.clientId, clientSecret: 'rsec_wrong', fetch: injectFetch(h.app, []) });
        const error = await wrong.getOnboarding('x').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ReuseIdError);
        expect(error).toMatchObject({
          status: 401,
          code: 'invalid_client',
          title: 'invalid_client',
          detail: 'Client authentication failed',
          invalidParams: undefined,
        });
        expect((error as ReuseIdError).traceId).toMatch(/\S/);
        const scoped = new ReuseIdClient({
          baseUrl: PUBLIC_URL,
          clientId: api.clientId,
          clientSecret: api.clientSecret,
          scope: 'console',
          fetch: injectFetch(h.app, []),
        });
        await expect(scoped.listSubscriptions()).rejects.toMatchObject({ status: 400, code: 'invalid_scope' });
        await expect(client.listSubscriptions()).resolves.toEqual([]);
      });

      it('refuses a token answer that is not a bearer token with its lifetime', async () => {
        const { client } = await rp({
          intercept: async (request, forward) => (request.path === TOKEN_PATH ? Response.json({ access_token: 'x', token_type: 'mac' }) : forward()),
        });
        await expect(client.listSubscriptions()).rejects.toMatchObject({ code: 'invalid_response', status: 200 });
      });
    });

    describe('retries', () => {
      it('sends a Start onboarding again with the same Idempotency-Key after its answer was lost, and gets the first result', async () => {
        let lost = false;
        const { client, api, calls, sleeps } = await rp({
          intercept: async (request, forward) => {
            const answer = await forward();
            if (request.path !== '/reuseid/onboarding' || lost) return answer;
            lost = true;
            throw new TypeError('fetch failed: socket hang up');
          },
        });
        const started = await client.startOnboarding({ externalRef: 'once' });
        const [first, second] = calls('/reuseid/onboarding');
        expect(first!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
        expect(second!.headers['idempotency-key']).toBe(first!.headers['idempotency-key']);
        expect(sleeps).toHaveLength(1);
        const transactions = await h.ctx.store.db.selectFrom('transactions').select('id').where('account_id', '=', api.accountId).execute();
        expect(transactions.map((t) => t.id)).toEqual([started.transactionId]);
        // The replay hands out a fresh activation code for the same transaction (the first one was never seen).
        expect(started.activationCode).toBeTruthy();
      });

      it("uses the caller's Idempotency-Key, a new one per call otherwise; a key reused for another body is refused", async () => {
        const { client, calls } = await rp();
        const first = await client.startOnboarding({}, { idempotencyKey: 'order-4711' });
        const again = await client.startOnboarding({}, { idempotencyKey: 'order-4711' });
        expect(again.transactionId).toBe(first.transactionId);
        await expect(client.startOnboarding({ externalRef: 'other' }, { idempotencyKey: 'order-4711' })).rejects.toMatchObject({
          status: 422,
          code: 'idempotency_key_reused',
        });
        await client.startOnboarding();
        await client.startOnboarding();
        const keys = calls('/reuseid/onboarding').map((r) => r.headers['idempotency-key']);
        expect(keys.slice(0, 3)).toEqual(['order-4711', 'order-4711', 'order-4711']);
        expect(new Set(keys.slice(3)).size).toBe(2);
        expect(keys.slice(3)).not.toContain('order-4711');
      });

      it('retries 502, 503 and 504 with a growing backoff, and 429 after its Retry-After', async () => {
        const answers = [problem(503, 'service_unavailable'), new Response('<html>bad gateway</html>', { status: 502 }), problem(504, 'timeout')];
        const gets = await rp({
          retry: { maxAttempts: 4, baseDelayMs: 100 },
          intercept: async (request, forward) => (request.method === 'GET' && answers.length ? answers.shift()! : forward()),
        });
        expect(await gets.client.listSubscriptions()).toEqual([]);
        expect(gets.calls('/events/subscriptions')).toHaveLength(4);
        expect(gets.sleeps).toHaveLength(3);
        gets.sleeps.forEach((ms, i) => {
          expect(ms).toBeGreaterThanOrEqual(50 * 2 ** i);
          expect(ms).toBeLessThanOrEqual(100 * 2 ** i);
        });

        let limited = false;
        const limitedRp = await rp({
          intercept: async (request, forward) =>
            request.method === 'GET' && !limited && (limited = true) ? problem(429, 'too_many_requests', { 'retry-after': '2' }) : forward(),
        });
        await limitedRp.client.listSubscriptions();
        expect(limitedRp.sleeps).toEqual([2000]);
      });

      it('gives up after the last attempt, or at once when Retry-After asks for longer than it waits', async () => {
        const unavailable = await rp({ intercept: async (request, forward) => (request.method === 'GET' ? problem(503, 'service_unavailable') : forward()) });
        await expect(unavailable.client.getSubscription('s1')).rejects.toMatchObject({ status: 503, code: 'service_unavailable' });
        expect(unavailable.calls('/events/subscriptions/s1')).toHaveLength(3);

        const patient = await rp({
          retry: { maxDelayMs: 10_000 },
          intercept: async (request, forward) => (request.method === 'GET' ? problem(429, 'too_many_requests', { 'retry-after': '60' }) : forward()),
        });
        await expect(patient.client.getSubscription('s1')).rejects.toMatchObject({ status: 429 });
        expect(patient.sleeps).toEqual([]);

        const down = await rp({
          intercept: async (request, forward) => (request.method === 'GET' ? Promise.reject(new TypeError('connect ECONNREFUSED')) : forward()),
        });
        const error = await down.client.getSubscription('s1').catch((e: unknown) => e);
        expect(error).toMatchObject({ name: 'ReuseIdError', status: 0, code: 'network_error' });
        expect((error as Error).cause).toBeInstanceOf(TypeError);
        expect(down.calls('/events/subscriptions/s1')).toHaveLength(3);
      });

      it('never sends a change without an Idempotency-Key twice, and does not retry answers that are final', async () => {
        const lost = await rp({
          intercept: async (request, forward) =>
            request.path === '/events/subscriptions' && request.method === 'POST' ? Promise.reject(new TypeError('fetch failed')) : forward(),
        });
        await expect(lost.client.createSubscription({ name: 'crm', url: 'http://127.0.0.1:9/hook' })).rejects.toMatchObject({ code: 'network_error' });
        expect(lost.calls('/events/subscriptions')).toHaveLength(1);
        expect(lost.calls('/events/subscriptions')[0]!.headers['idempotency-key']).toBeUndefined();

        const busy = await rp({ intercept: async (request, forward) => (request.method === 'PATCH' ? problem(503, 'service_unavailable') : forward()) });
        await expect(busy.client.updateSubscription('s1', { enabled: false })).rejects.toMatchObject({ status: 503 });
        expect(busy.calls('/events/subscriptions/s1')).toHaveLength(1);

        const { client, calls } = await rp();
        await expect(client.getOnboarding('nope')).rejects.toMatchObject({ status: 404 });
        expect(calls('/reuseid/onboarding/nope')).toHaveLength(1);
      });
    });

    describe('errors', () => {
      it("throws the server's error object as a ReuseIdError with the trace id of the response", async () => {
        const { client, requests } = await rp();
        const error = await client.getOnboarding('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ReuseIdError);
        expect(error).toBeInstanceOf(Error);
        expect(error).toMatchObject({
          status: 404,
          code: 'transaction_not_found',
          title: 'Transaction not found',
          detail: expect.stringContaining('00000000-0000-4000-8000-000000000000'),
        });
        expect((error as ReuseIdError).traceId).toMatch(/\S/);
        expect((error as ReuseIdError).message).toContain('transaction_not_found');
        expect(requests.at(-1)!.path).toBe('/reuseid/onboarding/00000000-0000-4000-8000-000000000000');
      });

      it('carries invalidParams of a 422 and the code of a missing permission', async () => {
        const { client } = await rp({ permissions: ['reuseid-onboarding'] });
        const error = (await client.startStepUp({ userId: 'not-a-uuid', deviceId: '', provider: 'nope' }).catch((e: unknown) => e)) as ReuseIdError;
        expect(error).toMatchObject({ status: 422, code: 'invalid_request_parameter' });
        expect(error.invalidParams?.map((p) => p.name).sort()).toEqual(['deviceId', 'provider', 'userId']);
        await expect(client.queryAudit()).rejects.toMatchObject({ status: 403, code: 'insufficient_permissions' });
      });

      it('keeps ids inside their path segment', async () => {
        const { client, requests } = await rp();
        await expect(client.getUser('../onboarding')).rejects.toMatchObject({ status: 404, code: 'user_entity_does_not_exist' });
        expect(requests.at(-1)!.path).toBe('/reuseid/users/..%2Fonboarding');
      });
    });

    describe('every endpoint', () => {
      it("onboards and steps up, reads the user and changes a device's state", async () => {
        const { client } = await rp();
        const { started, deviceId } = await onboarded(client);
        expect(started).toMatchObject({ status: 'Pending', activationCode: expect.any(String) });
        const onboarding = await client.getOnboarding(started.transactionId);
        expect(onboarding).toMatchObject({ status: 'Completed', userId: started.userId, deviceId, userData: JANE, assuranceLevel: 'low' });
        expect(onboarding.verification?.document).toBe('sandbox');
        const stepUp = await client.startStepUp({ userId: started.userId, deviceId, minimumAssuranceLevel: 'substantial' });
        expect(stepUp).toMatchObject({ status: 'Pending', userId: started.userId, deviceId });
        expect(await client.getStepUp(stepUp.transactionId)).toMatchObject({ status: 'Pending', stage: 'authentication' });
        const user = await client.getUser(started.userId);
        expect(user.attributes.lastName).toMatchObject({ value: 'SMITH', transactionId: started.transactionId });
        expect(user.devices).toEqual([expect.objectContaining({ deviceId, state: 'ACTIVE' })]);
        expect(await client.setDeviceState(started.userId, deviceId, 'LOCKED')).toMatchObject({ deviceId, state: 'LOCKED' });
        await expect(client.setDeviceState(started.userId, 'other-device', 'ACTIVE')).rejects.toMatchObject({ status: 404, code: 'device_not_found' });
      });

      it('finds a user by externalRef, exports and erases them; a second erase succeeds, the user is gone afterwards', async () => {
        const { client } = await rp();
        const { started, deviceId } = await onboarded(client);
        const others = await Promise.all([1, 2].map(() => client.startOnboarding({ externalRef: 'customer-17' })));
        const found = await client.findUsers('customer-17');
        expect(found.map((u) => u.userId).sort()).toEqual([started.userId, ...others.map((o) => o.userId)].sort());
        expect(await client.findUsers('nobody')).toEqual([]);
        const exported = await client.exportUser(started.userId, { includeEvidence: true });
        expect(exported).toMatchObject({ userId: started.userId, externalRef: 'customer-17', devices: [expect.objectContaining({ deviceId })] });
        expect(exported.attributes.lastName).toMatchObject({ value: 'SMITH' });
        expect(exported.transactions.map((tx) => tx.transactionId)).toContain(started.transactionId);
        await client.eraseUser(started.userId);
        await client.eraseUser(started.userId);
        await expect(client.getUser(started.userId)).rejects.toMatchObject({ status: 404 });
        expect((await client.findUsers('customer-17')).map((u) => u.userId)).not.toContain(started.userId);
        expect((await client.getOnboarding(started.transactionId)).userData).toBeUndefined();
      });

      it('manages a subscription whose deliveries verifyWebhook accepts, before and after a secret rotation', async () => {
        const receiver = await startReceiver();
        try {
          const { client } = await rp();
          const created = await client.createSubscription({ name: 'receiver', url: receiver.url, eventNames: ['webhook.test'] });
          expect(created.secret).toMatch(/^whsec_/);
          expect(await client.listSubscriptions()).toEqual([expect.objectContaining({ id: created.id, name: 'receiver' })]);
          expect(await client.updateSubscription(created.id, { name: 'renamed' })).toMatchObject({ id: created.id, name: 'renamed', enabled: true });
          expect(await client.getSubscription(created.id)).not.toHaveProperty('secret');

          const queued = await client.sendTestEvent(created.id);
          expect(queued).toMatchObject({ eventName: 'webhook.test', status: 'pending', subscriptionId: created.id });
          await h.ctx.webhooks.worker.tick();
          const [delivered] = receiver.requests;
          const envelope = verifyWebhook<{ subscriptionId: string }>(delivered!.headers, delivered!.body, created.secret, { now: h.clock.now() });
          expect(envelope).toMatchObject({ id: queued.eventId, eventName: 'webhook.test', eventData: { subscriptionId: created.id }, tags: ['mock'] });
          expect(await client.getDelivery(queued.id)).toMatchObject({ status: 'succeeded', attempts: [expect.objectContaining({ statusCode: 204 })] });

          const rotated = await client.rotateSubscriptionSecret(created.id);
          expect(rotated.secret).not.toBe(created.secret);
          expect(await client.redeliver(queued.id)).toMatchObject({ id: queued.id, status: 'pending' });
          await h.ctx.webhooks.worker.tick();
          const redelivered = receiver.requests[1]!;
          for (const secret of [created.secret, rotated.secret])
            expect(verifyWebhook(redelivered.headers, redelivered.body, secret, { now: h.clock.now() }).id).toBe(queued.eventId);

          await client.sendTestEvent(created.id);
          const deliveries = await client.listDeliveries(created.id);
          expect(deliveries).toHaveLength(2);
          expect(await client.listDeliveries(created.id, { limit: 1, before: deliveries[0]!.id })).toEqual([deliveries[1]]);
          await client.deleteSubscription(created.id);
          await expect(client.getSubscription(created.id)).rejects.toMatchObject({ status: 404 });
        } finally {
          await receiver.stop();
        }
      });

      it('queries the audit log page by page, follows next on its own base URL, and reads one item', async () => {
        const { client, calls } = await rp();
        await client.startOnboarding();
        await client.startOnboarding();
        await h.ctx.auditSequencer.sequenceNow();
        const first = await client.queryAudit({ limit: 1 });
        expect(first.items).toHaveLength(1);
        expect(first.next).toMatch(/^http:\/\/reuseid\.test\/audit\/query\?cursor=/);
        const second = await client.nextAuditPage(first.next!.replace(PUBLIC_URL, 'https://elsewhere.example'));
        expect(second.items[0]!.sequence).toBeLessThan(first.items[0]!.sequence);
        expect(calls('/audit/query')).toHaveLength(1);

        const all = [];
        for await (const item of client.auditItems({ limit: 1 })) all.push(item);
        expect(all.map((item) => item.sequence)).toEqual([...all.map((item) => item.sequence)].sort((a, b) => b - a));
        expect(all.map((item) => item.eventType)).toEqual(expect.arrayContaining(['token.issued', 'onboarding.started']));
        expect(await client.getAuditItem(all[0]!.cursor)).toEqual(all[0]);
        await expect(client.getAuditItem('missing')).rejects.toMatchObject({ status: 404, code: 'audit_item_not_found' });
        await expect(client.nextAuditPage('https://reuseid.test/audit/query')).rejects.toThrow(TypeError);
      });
    });
  });
}
