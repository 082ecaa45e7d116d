import type { Tx } from '../store/database.js';

/**
 * One retention batch of an account's expired offers or credentials (each table's owner calls it for its own table):
 * ids first, then the delete, because PostgreSQL has no DELETE … LIMIT.
 */
export async function deleteExpiredRows(
  trx: Tx,
  table: 'credentials' | 'credential_offers',
  where: { accountId: string; expiredBefore: number; limit: number },
): Promise<number> {
  const ids = await trx
    .selectFrom(table)
    .select('id')
    .where('account_id', '=', where.accountId)
    .where('expires_at', '<', where.expiredBefore)
    .limit(where.limit)
    .execute();
  if (ids.length === 0) return 0;
  const deleted = await trx
    .deleteFrom(table)
    .where(
      'id',
      'in',
      ids.map((row) => row.id),
    )
    .executeTakeFirst();
  return Number(deleted.numDeletedRows);
}
