import { sql } from 'kysely';
import { openStore, type Store } from '../src/store/database.js';

/**
 * Rows per statement: each statement must end within the store's PostgreSQL query timeout (15 s). A million rows in
 * one statement took longer than that on a loaded machine, and the bench died in the middle of its growth figures.
 */
const FILL_CHUNK_ROWS = 100_000;

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
    for (let first = 1; first <= missing; first += FILL_CHUNK_ROWS) {
      await fillRange(store, offset, first, Math.min(missing, first + FILL_CHUNK_ROWS - 1));
    }
  } finally {
    await store.close();
  }
}

/** Inserts the rows numbered first..last (with their users and dossiers), in one transaction. */
async function fillRange(store: Store, offset: number, first: number, last: number): Promise<void> {
  const series =
    store.dialect === 'postgres'
      ? sql`select g as n from generate_series(${first}::integer, ${last}::integer) g`
      : sql`with recursive s(n) as (select ${first} union all select n + 1 from s where n < ${last}) select n from s`;
  const id = (prefix: string) => sql.raw(`'${prefix}-${offset}-' || n`);
  // Ended now: rows the retention policy keeps (a year by default), so the server is not purging them while the
  // growth figure is measured. Ended in 1970, they were all due for deletion at once.
  const now = sql.lit(Date.now());
  await store.db.transaction().execute(async (trx) => {
    await sql`insert into users (id, account_id, state, data_key_sealed, external_ref_sealed, created_at, updated_at)
      select ${id('u')}, 'default', 'ACTIVE', 'x', null, ${now}, ${now} from (${series}) series`.execute(trx);
    await sql`insert into dossiers (id, account_id, user_id, created_at)
      select ${id('d')}, 'default', ${id('u')}, ${now} from (${series}) series`.execute(trx);
    await sql`insert into transactions (id, account_id, client_id, kind, user_id, device_id, status, stage, provider, provider_options,
        external_ref_sealed, activation_code_hash, activation_code_expires_at, dossier_id, process_id, proofing_id, user_data_sealed,
        failure_reason, created_at, updated_at, expires_at, ended_at)
      select ${id('t')}, 'default', 'bench', 'onboarding', ${id('u')}, null, 'Failed', 'done', 'signicatvideoid', '{}',
        null, null, null, ${id('d')}, ${id('p')}, null, null, 'bench', ${now}, ${now}, ${now}, ${now} from (${series}) series`.execute(trx);
  });
}
