import type { Kysely } from 'kysely';

/**
 * Review agents per account. An agent reviews either every account's cases (`all_accounts` = 1: an operator's own
 * review team) or only those of the accounts listed for it in console_agent_accounts. Agents created before this
 * migration saw every account's cases, so they keep that scope (all_accounts = 1); the column's default is 0, so
 * that an agent inserted without a scope sees nothing rather than everything. No boolean type (see 001_core).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('console_agents')
    .addColumn('all_accounts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.updateTable('console_agents').set({ all_accounts: 1 }).execute();
  await db.schema
    .createTable('console_agent_accounts')
    .addColumn('agent_id', 'text', (c) => c.notNull().references('console_agents.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('console_agent_accounts_pk', ['agent_id', 'account_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('console_agent_accounts').ifExists().execute();
  await db.schema.alterTable('console_agents').dropColumn('all_accounts').execute();
}
