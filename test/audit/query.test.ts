import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEntry } from '../../src/audit/log.js';
import { registerClientCommands } from '../../src/cli/clients.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, PUBLIC_URL, type Harness, type Rp } from '../support/harness.js';
import { fileBacked } from '../support/file-database.js';

const DAY = 24 * 3600 * 1000;
/** The items these tests write (token requests are audited too). */
const WRITTEN = { field: 'eventType', operator: 'in', value: ['onboarding.completed', 'device.activated'] };

for (const database of testDatabases) {
  describe(`audit API (${database.name})`, () => {
    let h: Harness;
    let rp: Rp;
    let other: Rp;
    beforeAll(async () => {
      h = await createHarness(fileBacked(database));
      rp = await h.rp({ account: 'alpha', permissions: ['audit'] });
      other = await h.rp({ account: 'beta', permissions: ['audit'] });
      const append = (entry: Omit<AuditEntry, 'accountId'>, accountId = 'alpha') =>
        h.ctx.store.db.transaction().execute((trx) => h.ctx.audit.append(trx, { accountId, ...entry }));
      for (let i = 1; i <= 5; i++)
        await append({
          eventType: 'onboarding.completed',
          message: `done ${i}`,
          userId: `u${i}`,
          referenceId: `tx${i}`,
          clientId: rp.clientId,
          traceId: `t${i}`,
        });
      await append({ eventType: 'device.activated', message: 'device', userId: 'u1', referenceId: 'tx1' });
      await append({ eventType: 'onboarding.completed', message: 'foreign', userId: 'u1', referenceId: 'tx1' }, 'beta');
      // The API serves chained items only: chain them now rather than wait for the sequencer's next pass.
      await h.ctx.auditSequencer.sequenceNow();
    });
    afterAll(() => h.close());

    const query = (who: Rp, body: unknown) => who.post('/audit/query', body);
    const messages = (res: { body: { items: { message: string }[] } }) => res.body.items.map((i) => i.message);

    it('answers newest first with the Signicat item fields', async () => {
      const res = await query(rp, { and: [WRITTEN] });
      expect(res.status).toBe(200);
      expect(messages(res)).toEqual(['device', 'done 5', 'done 4', 'done 3', 'done 2', 'done 1']);
      expect(res.body.next).toBeNull();
      expect(res.body.items[1]).toMatchObject({
        accountId: 'alpha',
        serviceName: 'reuseid',
        eventType: 'onboarding.completed',
        userId: 'u5',
        referenceId: 'tx5',
        clientId: rp.clientId,
        traceId: 't5',
        data: {},
      });
      expect(res.body.items[1].cursor).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('filters with eq and in on eventType, clientId, userId, referenceId and traceId', async () => {
      const cond = (field: string, operator: string, value: unknown) => ({ field, operator, value });
      expect(messages(await query(rp, { and: [cond('eventType', 'eq', 'device.activated')] }))).toEqual(['device']);
      expect(messages(await query(rp, { and: [cond('userId', 'in', ['u2', 'u4'])] }))).toEqual(['done 4', 'done 2']);
      expect(messages(await query(rp, { and: [cond('referenceId', 'eq', 'tx1'), cond('eventType', 'eq', 'onboarding.completed')] }))).toEqual(['done 1']);
      expect(messages(await query(rp, { and: [cond('clientId', 'eq', rp.clientId), cond('traceId', 'in', ['t3', 'nope'])] }))).toEqual(['done 3']);
    });

    it('pages with an opaque next URL until it is null', async () => {
      const seen: string[] = [];
      let res = await query(rp, { limit: 2, and: [{ field: 'eventType', operator: 'eq', value: 'onboarding.completed' }] });
      for (;;) {
        seen.push(...messages(res));
        if (!res.body.next) break;
        const next = String(res.body.next);
        expect(next.startsWith(`${PUBLIC_URL}/audit/query?cursor=`)).toBe(true);
        const page = await h.app.inject({ method: 'POST', url: next.slice(PUBLIC_URL.length), headers: { authorization: `Bearer ${rp.token}` } });
        expect(page.statusCode, page.body).toBe(200);
        res = { status: page.statusCode, body: page.json(), headers: {} };
      }
      expect(seen).toEqual(['done 5', 'done 4', 'done 3', 'done 2', 'done 1']);
    });

    it('applies the time window: to defaults to now, from to 30 days before, at most 60 days', async () => {
      const now = h.clock.now();
      expect(messages(await query(rp, { to: new Date(now - DAY).toISOString() }))).toEqual([]);
      expect(
        (await query(rp, { from: new Date(now - 59 * DAY).toISOString(), to: new Date(now + DAY).toISOString(), and: [WRITTEN] })).body.items,
      ).toHaveLength(6);
      const tooWide = await query(rp, { from: new Date(now - 61 * DAY).toISOString() });
      expect(tooWide.status).toBe(422);
      expect(tooWide.body.invalidParams).toEqual([{ name: 'from', reason: 'the span from–to is at most 60 days' }]);
      h.clock.advance(31 * DAY);
      const later = await h.rp({ account: 'alpha', permissions: ['audit'] });
      expect((await query(later, { and: [WRITTEN] })).body.items).toEqual([]);
      h.clock.advance(-31 * DAY);
    });

    it('refuses bad queries with one invalidParams entry per bad field', async () => {
      const res = await query(rp, {
        and: [
          { field: 'message', operator: 'eq', value: 'x' },
          { field: 'userId', operator: 'in', value: 'u1' },
        ],
        limit: 1001,
        color: 1,
      });
      expect(res.status).toBe(422);
      expect(res.body.invalidParams.map((p: { name: string }) => p.name).sort()).toEqual(['and.0.field', 'and.1.value', 'color', 'limit']);
    });

    it('keeps accounts apart: items, queries and cursors', async () => {
      const mine = (await query(rp, { and: [WRITTEN] })).body.items[0];
      expect((await rp.get(`/audit/items/${mine.cursor}`)).body).toEqual(mine);
      const foreign = await other.get(`/audit/items/${mine.cursor}`);
      expect(foreign.status).toBe(404);
      expect(foreign.body.code).toBe('audit_item_not_found');
      expect(JSON.stringify(foreign.body)).not.toContain('device');
      expect(messages(await query(other, { and: [WRITTEN] }))).toEqual(['foreign']);
      const paged = await query(rp, { limit: 1 });
      const stolen = await h.app.inject({
        method: 'POST',
        url: String(paged.body.next).slice(PUBLIC_URL.length),
        headers: { authorization: `Bearer ${other.token}` },
      });
      expect(stolen.statusCode).toBe(422);
      expect(stolen.json().invalidParams[0].name).toBe('cursor');
      const forged = await h.app.inject({ method: 'POST', url: '/audit/query?cursor=v1.abc.def', headers: { authorization: `Bearer ${rp.token}` } });
      expect(forged.statusCode).toBe(422);
    });

    it('requires the audit permission', async () => {
      const events = await h.rp({ account: 'alpha', permissions: ['events'] });
      expect((await query(events, {})).status).toBe(403);
    });

    it('records client.created when the CLI creates a client, without its secret', async () => {
      const program = new Command().exitOverride();
      registerClientCommands(program);
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      let created: { clientId: string; clientSecret: string };
      try {
        await program.parseAsync([
          'node',
          'reuseid',
          'clients',
          'create',
          '--name',
          'ops',
          '--account',
          'gamma',
          '--permission',
          'audit',
          '--database',
          h.ctx.config.databaseUrl,
          '--json',
        ]);
        created = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
      } finally {
        log.mockRestore();
      }
      const rows = await h.ctx.store.db.selectFrom('audit_items').selectAll().where('account_id', '=', 'gamma').execute();
      expect(rows.map((r) => [r.event_type, r.client_id, r.sequence])).toEqual([['client.created', created.clientId, 1]]);
      expect(JSON.parse(rows[0]!.body)).toMatchObject({ referenceId: created.clientId, data: { permissions: ['audit'], source: 'cli' } });
      expect(rows[0]!.body).not.toContain(created.clientSecret);
    });
  });
}
