import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EventName } from '../../src/events/catalogue.js';
import { createWebhooks } from '../../src/events/webhooks.js';
import { openStore } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, type Harness, type Rp } from '../support/harness.js';
import { signedWith, startReceiver, verifyDelivery, type Receiver } from './receiver.js';

const ALLOW_PRIVATE = { REUSEID_WEBHOOK_ALLOW_PRIVATE: 'true' };
const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };

for (const database of testDatabases) {
  describe(`webhook delivery (${database.name})`, () => {
    let h: Harness;
    let receiver: Receiver;
    let account = 0;
    beforeAll(async () => {
      h = await createHarness(database, ALLOW_PRIVATE);
    });
    afterAll(() => h.close());
    beforeEach(async () => {
      h.clock.set(Date.now()); // device proofs are checked against real time
      receiver = await startReceiver();
      // Leftovers of earlier tests must not be delivered into this one.
      while ((await h.ctx.webhooks.worker.tick()).attempted > 0);
    });

    /** A fresh account (events are per account) with a subscription to the receiver. */
    async function subscribed(body: Record<string, unknown> = {}) {
      const rp = await h.rp({ account: `acct-${database.name}-${++account}`, permissions: ['reuseid-onboarding', 'events'] });
      const created = await rp.post('/events/subscriptions', { name: 'receiver', url: receiver.url, ...body });
      expect(created.status).toBe(201);
      return { rp, subscription: created.body as { id: string; secret: string } };
    }

    async function enqueue(accountId: string, count: number, eventName: EventName = 'device.state.change') {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const envelope = await h.ctx.store.db.transaction().execute((trx) => h.ctx.outbox.enqueue(trx, accountId, eventName, { n: i }));
        ids.push(envelope.id);
      }
      return ids;
    }

    async function deliveries(rp: Rp, subscriptionId: string) {
      return (await h.ctx.webhooks.deliveries.list(rp.accountId, subscriptionId, { limit: 100 })).reverse();
    }

    /** Moves the clock until every pending attempt of the account is due, and runs the worker once. */
    async function nextRound(accountId: string) {
      const due = await h.ctx.store.db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.max('next_attempt_at').as('at'))
        .where('status', '=', 'pending')
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      if (due?.at != null) h.clock.set(Math.max(h.clock.now(), Number(due.at)));
      return h.ctx.webhooks.worker.tick();
    }

    it('delivers every event of a full onboarding, verifiable with the standardwebhooks package', async () => {
      const { rp, subscription } = await subscribed();
      const start = await rp.post('/reuseid/onboarding', {});
      const device = await h.device();
      const activation = await device.activate(start.body.data.activationCode);
      await device.call('POST', `/device/v1/transactions/${activation.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: JANE });
      await h.ctx.webhooks.worker.tick();

      const events = receiver.requests.map(
        (r) => verifyDelivery(subscription.secret, r) as { id: string; eventName: string; eventData: unknown; accountId: string },
      );
      // Events written in one database transaction share a timestamp: their relative order is not part of the contract.
      expect(events.map((e) => e.eventName).sort()).toEqual(['device.activated', 'onboarding.activated', 'onboarding.completed']);
      for (const [i, event] of events.entries()) {
        expect(receiver.requests[i]!.headers['webhook-id']).toBe(event.id);
        expect(event).toMatchObject({ sender: 'reuseid', accountId: rp.accountId, organizationId: null, tags: [] });
      }
      const polled = await rp.get(`/reuseid/onboarding/${start.body.data.transactionId}`);
      const completed = events.find((e) => e.eventName === 'onboarding.completed')!;
      expect(completed.eventData).toEqual(polled.body.data);
      expect(completed.eventData).toMatchObject({ status: 'Completed', userData: JANE });
      expect(events.find((e) => e.eventName === 'onboarding.activated')!.eventData).toMatchObject({
        status: 'Pending',
        stage: 'proofing',
        deviceId: activation.deviceId,
      });
      expect(() => verifyDelivery(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, receiver.requests[0]!)).toThrow();
      const log = await deliveries(rp, subscription.id);
      expect(log.map((d) => [d.status, d.attemptCount, d.lastStatusCode])).toEqual([
        ['succeeded', 1, 204],
        ['succeeded', 1, 204],
        ['succeeded', 1, 204],
      ]);
    });

    it('delivers everything once a receiver that was down is back, each event under one webhook-id', async () => {
      const { rp, subscription } = await subscribed();
      const eventIds = await enqueue(rp.accountId, 3);
      receiver.respond = () => ({ status: 503 });
      await h.ctx.webhooks.worker.tick();
      await nextRound(rp.accountId);
      expect(receiver.requests).toHaveLength(6);
      await receiver.stop();
      expect((await nextRound(rp.accountId)).attempted).toBe(3); // connection refused
      await receiver.restart();
      receiver.respond = () => ({ status: 200 });
      await nextRound(rp.accountId);

      const byEvent = new Map<string, typeof receiver.requests>();
      for (const r of receiver.requests) byEvent.set(String(r.headers['webhook-id']), [...(byEvent.get(String(r.headers['webhook-id'])) ?? []), r]);
      expect([...byEvent.keys()].sort()).toEqual([...eventIds].sort());
      for (const [eventId, requests] of byEvent) {
        expect(requests).toHaveLength(3);
        for (const request of requests) {
          expect(JSON.parse(request.body).id).toBe(eventId);
          expect(signedWith(subscription.secret, request)).toBe(true);
        }
      }
      const log = await deliveries(rp, subscription.id);
      expect(log.every((d) => d.status === 'succeeded' && d.attemptCount === 4)).toBe(true);
      const detail = await h.ctx.webhooks.deliveries.get(rp.accountId, log[0]!.id);
      expect(detail.attempts.map((a) => a.statusCode)).toEqual([503, 503, null, 200]);
      expect(detail.attempts[2]!.error).toMatch(/ECONNREFUSED/);
      expect(new Set(detail.attempts.map((a) => a.startedAt)).size).toBe(4);
    });

    it('resumes after a worker died holding a lease: the next attempt waits for the lease to lapse', async () => {
      const { rp, subscription } = await subscribed();
      await enqueue(rp.accountId, 1);
      await h.ctx.webhooks.worker.tick(); // fans out and delivers; now pretend a redelivery was claimed by a process that died
      const [delivery] = await deliveries(rp, subscription.id);
      await h.ctx.webhooks.deliveries.redeliver(rp.accountId, delivery!.id);
      await h.ctx.store.db
        .updateTable('webhook_deliveries')
        .set({ locked_until: h.clock.now() + 60_000, lease_id: 'dead-process', attempt_count: 2 })
        .where('id', '=', delivery!.id)
        .execute();
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(1);
      h.clock.advance(60_000);
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(2);
      const detail = await h.ctx.webhooks.deliveries.get(rp.accountId, delivery!.id);
      expect(detail).toMatchObject({ status: 'succeeded', attemptCount: 3 });
      expect(detail.attempts.map((a) => a.attempt)).toEqual([1, 3]);
    });

    it('gives up when the event expires', async () => {
      const { rp, subscription } = await subscribed();
      await enqueue(rp.accountId, 1);
      receiver.respond = () => ({ status: 500 });
      for (let round = 0; round < 20; round++) if ((await nextRound(rp.accountId)).attempted === 0) break;
      const [delivery] = await deliveries(rp, subscription.id);
      expect(delivery).toMatchObject({ status: 'failed', nextAttemptAt: null, lastStatusCode: 500 });
      const attempts = receiver.requests.length;
      h.clock.advance(7 * 24 * 3600 * 1000);
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(attempts);
      // The schedule (5 s … 24 h) fits about nine attempts into the three days an event lives.
      expect(attempts).toBeGreaterThanOrEqual(8);
    });

    it('disables the subscription when the receiver answers 410 Gone', async () => {
      const { rp, subscription } = await subscribed();
      await enqueue(rp.accountId, 1);
      receiver.respond = () => ({ status: 410 });
      await h.ctx.webhooks.worker.tick();
      const got = await rp.get(`/events/subscriptions/${subscription.id}`);
      expect(got.body).toMatchObject({ enabled: false, disabledReason: 'gone' });
      expect((await deliveries(rp, subscription.id))[0]).toMatchObject({ status: 'failed', lastStatusCode: 410 });
      await enqueue(rp.accountId, 1);
      h.clock.advance(3600 * 1000);
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(1);
      expect(await deliveries(rp, subscription.id)).toHaveLength(1);
      await h.ctx.auditSequencer.sequenceNow();
      const audit = await h.ctx.store.db
        .selectFrom('audit_items')
        .select('event_type')
        .where('account_id', '=', rp.accountId)
        .where('reference_id', '=', subscription.id)
        .orderBy('sequence')
        .execute();
      expect(audit.map((a) => a.event_type)).toEqual(['subscription.created', 'subscription.disabled']);
    });

    it('honours Retry-After', async () => {
      const { rp, subscription } = await subscribed();
      await enqueue(rp.accountId, 1);
      receiver.respond = () => ({ status: 503, headers: { 'retry-after': '600' } });
      await h.ctx.webhooks.worker.tick();
      receiver.respond = () => ({ status: 200 });
      h.clock.advance(599 * 1000); // the schedule alone would have retried after about 5 s
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(1);
      h.clock.advance(1000);
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(2);
      expect((await deliveries(rp, subscription.id))[0]).toMatchObject({ status: 'succeeded', attemptCount: 2 });
    });

    it('does not follow redirects', async () => {
      const { rp, subscription } = await subscribed();
      await enqueue(rp.accountId, 1);
      receiver.respond = (r) => (r.path === '/hook' ? { status: 307, headers: { location: '/elsewhere' } } : { status: 200 });
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests.map((r) => r.path)).toEqual(['/hook']);
      expect((await deliveries(rp, subscription.id))[0]).toMatchObject({ status: 'pending', lastStatusCode: 307 });
    });

    it("delivers only the event names a subscription asks for, and only to subscriptions of the event's account", async () => {
      const { rp } = await subscribed({ eventNames: ['onboarding.completed'] });
      const other = await subscribed();
      await enqueue(rp.accountId, 1, 'device.state.change');
      await enqueue(rp.accountId, 1, 'onboarding.completed');
      await enqueue(other.rp.accountId, 1, 'device.state.change');
      await h.ctx.webhooks.worker.tick();
      const received = receiver.requests.map((r) => JSON.parse(r.body) as { eventName: string; accountId: string });
      expect(received.map((e) => [e.accountId, e.eventName]).sort()).toEqual(
        [
          [rp.accountId, 'onboarding.completed'],
          [other.rp.accountId, 'device.state.change'],
        ].sort(),
      );
    });

    it('signs with both secrets during a rotation overlap, then with the new one only', async () => {
      const { rp, subscription } = await subscribed();
      const rotated = await rp.post(`/events/subscriptions/${subscription.id}/rotate-secret`, {});
      expect(rotated.status).toBe(200);
      expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(rotated.body.secret).not.toBe(subscription.secret);
      await enqueue(rp.accountId, 1);
      await h.ctx.webhooks.worker.tick();
      const [during] = receiver.requests;
      expect(String(during!.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verifyDelivery(rotated.body.secret, during!)).toBeTruthy();
      expect(verifyDelivery(subscription.secret, during!)).toBeTruthy();
      h.clock.advance(h.ctx.config.webhooks.secretOverlapSeconds * 1000 + 1);
      await enqueue(rp.accountId, 1);
      await h.ctx.webhooks.worker.tick();
      const after = receiver.requests[1]!;
      expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(signedWith(rotated.body.secret, after)).toBe(true);
      expect(signedWith(subscription.secret, after)).toBe(false);
    });

    it('sends a test event to one subscription, and redelivers under the same webhook-id', async () => {
      const { rp, subscription } = await subscribed();
      const sibling = await rp.post('/events/subscriptions', { name: 'sibling', url: receiver.url.replace('/hook', '/sibling') });
      const test = await rp.post(`/events/subscriptions/${subscription.id}/test`, {});
      expect(test.status).toBe(202);
      expect(test.body).toMatchObject({ eventName: 'webhook.test', status: 'pending', subscriptionId: subscription.id });
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests.map((r) => r.path)).toEqual(['/hook']);
      expect(verifyDelivery(subscription.secret, receiver.requests[0]!)).toMatchObject({ eventName: 'webhook.test', tags: ['mock'] });

      const again = await rp.post(`/events/deliveries/${test.body.id}/redeliver`, {});
      expect(again.status).toBe(202);
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(2);
      expect(receiver.requests[1]!.headers['webhook-id']).toBe(receiver.requests[0]!.headers['webhook-id']);
      const detail = await rp.get(`/events/deliveries/${test.body.id}`);
      expect(detail.body).toMatchObject({ status: 'succeeded', attemptCount: 2 });
      expect(detail.body.attempts.map((a: { attempt: number; statusCode: number }) => [a.attempt, a.statusCode])).toEqual([
        [1, 204],
        [2, 204],
      ]);
      expect((await rp.get(`/events/subscriptions/${sibling.body.id}/deliveries`)).body.items).toEqual([]);
    });

    it('keeps pending deliveries of a disabled subscription until it is enabled again', async () => {
      const { rp, subscription } = await subscribed();
      expect((await rp.post(`/events/subscriptions/${subscription.id}/test`, {})).status).toBe(202);
      const patch = (body: unknown) =>
        h.app.inject({
          method: 'PATCH',
          url: `/events/subscriptions/${subscription.id}`,
          headers: { authorization: `Bearer ${rp.token}` },
          payload: body as object,
        });
      expect((await patch({ enabled: false })).json()).toMatchObject({ enabled: false, disabledReason: 'disabled_by_client' });
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(0);
      expect((await patch({ enabled: true })).json()).toMatchObject({ enabled: true, disabledReason: null });
      await h.ctx.webhooks.worker.tick();
      expect(receiver.requests).toHaveLength(1);
    });

    it('two workers racing over the same rows never send one attempt twice', async () => {
      const { rp } = await subscribed();
      const eventIds = await enqueue(rp.accountId, 40);
      // A second process: its own connection pool on PostgreSQL; SQLite has one writer process, so it shares the store.
      const store = database.name === 'postgres' ? openStore(h.ctx.config.databaseUrl) : h.ctx.store;
      const { worker: second } = createWebhooks({
        store,
        clock: h.clock,
        random: h.ctx.random,
        cipher: h.ctx.keyring.serverCipher(),
        audit: h.ctx.audit,
        outbox: h.ctx.outbox,
        config: h.ctx.config.webhooks,
      });
      // Every event fails once, so retries are claimed in the race as well as first attempts.
      const seen = new Set<string>();
      receiver.respond = (r) => {
        const id = String(r.headers['webhook-id']);
        if (seen.has(id)) return { status: 200 };
        seen.add(id);
        return { status: 500 };
      };
      const pending = async () =>
        (await h.ctx.store.db.selectFrom('webhook_deliveries').select('id').where('account_id', '=', rp.accountId).where('status', '=', 'pending').execute())
          .length;
      try {
        for (let round = 0; round < 5 && (round === 0 || (await pending()) > 0); round++) {
          await Promise.all([h.ctx.webhooks.worker.tick(), second.tick(), h.ctx.webhooks.worker.tick(), second.tick()]);
          h.clock.advance(10 * 60 * 1000);
        }
      } finally {
        if (store !== h.ctx.store) await store.close();
      }
      const sent = receiver.requests.map((r) => `${String(r.headers['webhook-id'])}@${String(r.headers['webhook-timestamp'])}`);
      expect(new Set(sent).size).toBe(sent.length);
      expect(receiver.requests).toHaveLength(2 * eventIds.length);
      const rows = await h.ctx.store.db.selectFrom('webhook_deliveries').select(['status', 'attempt_count']).where('account_id', '=', rp.accountId).execute();
      expect(rows.map((r) => [r.status, r.attempt_count])).toEqual(eventIds.map(() => ['succeeded', 2]));
    });
  });
}
