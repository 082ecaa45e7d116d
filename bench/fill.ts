import { sql } from 'kysely';
import { openStore } from '../src/store/database.js';

/**
 * Grows the transactions table to `target` rows (with their users), in set-based SQL so a million rows take
 * seconds: the growth benchmark measures reads against a large table, not the speed of the API at filling it.
 */
export async function fillTransactions(url: string, target: number): Promise<void> {
  const store = openStore(url);
  try {
    const { n } = await store.db.selectFrom('transactions').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    const missing = target - Number(n);
    if (missing <= 0) return;
    const offset = Date.now();
    const series =
      store.dialect === 'postgres'
        ? sql`select g as n from generate_series(1, ${missing}) g`
        : sql`with recursive s(n) as (select 1 union all select n + 1 from s where n < ${missing}) select n from s`;
    const id = (prefix: string) => sql.raw(`'${prefix}-${offset}-' || n`);
    await store.db.transaction().execute(async (trx) => {
      await sql`insert into users (id, account_id, state, data_key_sealed, external_ref_sealed, created_at, updated_at)
        select ${id('u')}, 'default', 'ACTIVE', 'x', null, 0, 0 from (${series}) series`.execute(trx);
      await sql`insert into dossiers (id, account_id, user_id, created_at)
        select ${id('d')}, 'default', ${id('u')}, 0 from (${series}) series`.execute(trx);
      await sql`insert into transactions (id, account_id, client_id, kind, user_id, device_id, status, stage, provider, provider_options,
          external_ref_sealed, activation_code_hash, activation_code_expires_at, dossier_id, process_id, proofing_id, user_data_sealed,
          failure_reason, created_at, updated_at, expires_at, ended_at)
        select ${id('t')}, 'default', 'bench', 'onboarding', ${id('u')}, null, 'Failed', 'done', 'signicatvideoid', '{}',
          null, null, null, ${id('d')}, ${id('p')}, null, null, 'bench', 0, 0, 0, 0 from (${series}) series`.execute(trx);
    });
  } finally {
    await store.close();
  }
}
