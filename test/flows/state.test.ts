import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '../../src/events/catalogue.js';
import { FLOW_EVENT_NAMES, stateDiagram, transitionTable } from '../../src/flows/state.js';
import { findTransaction } from '../../src/flows/transaction.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

const ROOT = join(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the transaction state machine', () => {
  it('is documented in docs/flows.md exactly as the table says', () => {
    const doc = readFileSync(join(ROOT, 'docs/flows.md'), 'utf8');
    expect(doc).toContain(transitionTable());
    expect(doc).toContain(stateDiagram());
  });

  it('publishes every event a transition emits in the event catalogue', () => {
    for (const name of FLOW_EVENT_NAMES) expect(EVENT_NAMES).toContain(name);
  });

  it('is the only module that writes the transactions table', () => {
    const writers = sourceFiles(join(ROOT, 'src'))
      .filter((file) => !file.includes(`${join('store', 'migrations')}`))
      .filter((file) => /(insertInto|updateTable|deleteFrom)\(\s*'transactions'/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    expect(writers).toEqual([join('src', 'flows', 'state.ts')]);
  });
});

for (const database of testDatabases) {
  describe(`state transitions (${database.name})`, () => {
    const t = useHarness(database);

    it('refuses a transition the table does not allow from the current stage or kind, and writes nothing', async () => {
      const start = (await t.rp.post('/reuseid/onboarding', {})).body.data;
      const db = t.h.ctx.store.db;
      const tx = (await findTransaction(db, start.transactionId))!;
      await t.h.ctx.auditSequencer.sequenceNow();
      const auditBefore = await db.selectFrom('audit_items').select('cursor').where('reference_id', '=', tx.id).execute();
      for (const name of ['complete', 'submitForReview', 'requestCapture', 'approve'] as const) {
        expect(await db.transaction().execute((trx) => t.h.ctx.flows.transition(trx, tx, name))).toBeNull();
      }
      expect(await findTransaction(db, tx.id)).toMatchObject({ status: 'Pending', stage: 'activation' });
      await t.h.ctx.auditSequencer.sequenceNow();
      expect(await db.selectFrom('audit_items').select('cursor').where('reference_id', '=', tx.id).execute()).toHaveLength(auditBefore.length);
    });

    it('writes one audit item and one event per transition, with the Get data as the event data', async () => {
      const start = (await t.rp.post('/reuseid/onboarding', {})).body.data;
      const db = t.h.ctx.store.db;
      const tx = (await findTransaction(db, start.transactionId))!;
      const failed = await db.transaction().execute((trx) => t.h.ctx.flows.transition(trx, tx, 'fail', { reason: 'device_rejected' }));
      expect(failed).toMatchObject({ status: 'Failed', stage: 'done', failureReason: 'device_rejected' });
      expect(await db.transaction().execute((trx) => t.h.ctx.flows.transition(trx, tx, 'fail', { reason: 'user_erased' }))).toBeNull();
      await t.h.ctx.auditSequencer.sequenceNow();
      const audit = await db
        .selectFrom('audit_items')
        .select('event_type')
        .where('reference_id', '=', tx.id)
        .where('event_type', '=', 'onboarding.failed')
        .execute();
      expect(audit).toHaveLength(1);
      const polled = (await t.rp.get(`/reuseid/onboarding/${tx.id}`)).body.data;
      expect(polled).toMatchObject({ status: 'Failed', failureReason: 'device_rejected' });
    });
  });
}
