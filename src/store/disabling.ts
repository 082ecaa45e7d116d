import type { Database } from './schema.js';
import type { Executor } from './types.js';

/** The tables whose rows an operator disables and enables again: an `id` and a nullable `disabled_at` time. */
export type DisablableTable = {
  [T in keyof Database]: Database[T] extends { id: string; disabled_at: number | null } ? T : never;
}[keyof Database];

/**
 * Disables one row at `at`, or enables it again when `at` is null, unless it is in that state already. True when the
 * row changed; false when it was in that state already or does not exist, so a caller audits only real changes.
 */
export async function setDisabledAt(executor: Executor, table: DisablableTable, id: string, at: number | null): Promise<boolean> {
  const updated = await executor
    .updateTable(table)
    .set({ disabled_at: at })
    .where('id', '=', id)
    .where('disabled_at', at === null ? 'is not' : 'is', null)
    .returning('id')
    .executeTakeFirst();
  return updated !== undefined;
}
