import type { Command } from 'commander';
import { retentionChangedAudit } from '../audit/entries.js';
import { RETENTION_KINDS, RetentionPolicies, type RetentionChange, type RetentionPolicy } from '../retention/policy.js';
import { isoTime, systemClock } from '../shared/runtime.js';
import type { Executor } from '../store/database.js';
import { CliError } from './errors.js';
import { audited, configFrom, print, withStore } from './options.js';

/**
 * Accounts (tenants) and their retention periods. Accounts are created by `clients create --account`. The defaults
 * shown are this process's REUSEID_RETENTION_* settings: run the command with the server's environment.
 */
export function registerAccountCommands(program: Command): void {
  const accounts = program.command('accounts').description('Show accounts and set their retention periods');
  const common = (command: Command) =>
    command.option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)').option('--json', 'machine-readable output');

  common(accounts.command('list').description('List the accounts with the retention periods that apply to each')).action(async (flags) => {
    const items = await withStore(configFrom(flags), async (store) => {
      const policies = new Map((await policiesFrom(flags).all(store.db)).map((policy) => [policy.accountId, policy]));
      const rows = await store.db.selectFrom('accounts').selectAll().orderBy('id').execute();
      return rows.flatMap((row) => {
        const policy = policies.get(row.id);
        return policy ? [accountView(row, policy)] : [];
      });
    });
    print(flags.json, { items }, items.length ? items.map(describe).join('\n\n') : 'no accounts');
  });

  common(accounts.command('show').description('Show one account and its retention periods').argument('<accountId>', 'the account id')).action(
    async (accountId: string, flags) => {
      const view = await withStore(configFrom(flags), async (store) =>
        accountView(await findAccount(store.db, accountId), await policiesFrom(flags).forAccount(store.db, accountId)),
      );
      print(flags.json, view, describe(view));
    },
  );

  common(
    accounts
      .command('retention')
      .description("Set an account's retention periods, in days after the transaction (or webhook delivery) ended; prints the periods in force")
      .argument('<accountId>', 'the account id'),
  )
    .option('--evidence-days <days>', 'evidence (images, chip files, submitted outcomes)')
    .option('--transactions-days <days>', 'ended transactions (Get answers 404 afterwards), with their proofings; evidence goes with them')
    .option('--deliveries-days <days>', 'webhook delivery logs, 1–30')
    .option('--default', 'return every period not given here to the configured default')
    .action(async (accountId: string, flags) => {
      const view = await audited(flags, async (trx) => {
        const account = await findAccount(trx, accountId);
        const { policy, previous } = await policiesFrom(flags).change(trx, accountId, changeFrom(flags));
        const changed = RETENTION_KINDS.some((kind) => policy[kind] !== previous[kind] || policy.sources[kind] !== previous.sources[kind]);
        return { result: accountView(account, policy), audit: changed ? retentionChangedAudit(policy, previous) : null };
      });
      print(flags.json, view, describe(view));
    });
}

type AccountRow = { id: string; name: string; created_at: number };
type AccountView = ReturnType<typeof accountView>;

function policiesFrom(flags: { database?: string }): RetentionPolicies {
  return new RetentionPolicies({ clock: systemClock, defaults: configFrom(flags).retention });
}

async function findAccount(executor: Executor, accountId: string): Promise<AccountRow> {
  const row = await executor.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
  if (!row) throw new CliError('account_not_found', `No account ${accountId}; accounts are created with \`reuseid clients create --account\``);
  return row;
}

const FLAGS = { evidenceDays: 'evidenceDays', transactionsDays: 'transactionsDays', deliveriesDays: 'deliveriesDays' } as const;

/** `--default` returns the periods not given to the default; a given one is a number (validated by the policies). */
function changeFrom(flags: Record<string, unknown>): RetentionChange {
  const change: RetentionChange = {};
  for (const kind of RETENTION_KINDS) {
    const given = flags[FLAGS[kind]];
    if (typeof given === 'string') change[kind] = given.trim() === '' ? Number.NaN : Number(given);
    else if (flags.default) change[kind] = null;
  }
  return change;
}

function accountView(row: AccountRow, policy: RetentionPolicy) {
  const { evidenceDays, transactionsDays, deliveriesDays, sources } = policy;
  return { accountId: row.id, name: row.name, createdAt: isoTime(row.created_at), retention: { evidenceDays, transactionsDays, deliveriesDays, sources } };
}

function describe(view: AccountView): string {
  const { retention: r } = view;
  return [
    `account:      ${view.accountId}${view.name === view.accountId ? '' : ` (${view.name})`}, created ${view.createdAt}`,
    `evidence:     ${r.evidenceDays} days after its transaction ended (${r.sources.evidenceDays})`,
    `transactions: ${r.transactionsDays} days after they ended (${r.sources.transactionsDays})`,
    `deliveries:   ${r.deliveriesDays} days after they ended (${r.sources.deliveriesDays})`,
  ].join('\n');
}
