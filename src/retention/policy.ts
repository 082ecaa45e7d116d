import { MAX_RETENTION_DAYS, retentionProblem, type RetentionPeriods } from '../config.js';
import type { Clock } from '../shared/runtime.js';
import type { Executor } from '../store/database.js';

/**
 * Retention policies: the configured default periods, and each account's own (table `account_retention`, migration
 * 013, written only here). An account's column left null keeps the default, so a changed default reaches every
 * account that did not choose otherwise.
 */
export interface AccountRetentionTable {
  account_id: string;
  evidence_days: number | null;
  transactions_days: number | null;
  deliveries_days: number | null;
  updated_at: number;
}

declare module '../store/schema.js' {
  interface Database {
    account_retention: AccountRetentionTable;
  }
}

export type RetentionKind = keyof RetentionPeriods;
export const RETENTION_KINDS: readonly RetentionKind[] = ['evidenceDays', 'transactionsDays', 'deliveriesDays'];

/** The periods that apply to an account, and where each comes from. */
export interface RetentionPolicy extends RetentionPeriods {
  accountId: string;
  sources: Record<RetentionKind, 'account' | 'default'>;
}

/** A change of an account's periods: a number sets it, null returns it to the default, absent leaves it as it is. */
export type RetentionChange = Partial<Record<RetentionKind, number | null>>;

export class RetentionValidationError extends Error {}

const COLUMNS = { evidenceDays: 'evidence_days', transactionsDays: 'transactions_days', deliveriesDays: 'deliveries_days' } as const;
type OverrideRow = Pick<AccountRetentionTable, 'evidence_days' | 'transactions_days' | 'deliveries_days'>;

export class RetentionPolicies {
  constructor(private readonly deps: { clock: Clock; defaults: RetentionPeriods }) {}

  async forAccount(executor: Executor, accountId: string): Promise<RetentionPolicy> {
    const row = await executor.selectFrom('account_retention').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    return this.policy(accountId, row);
  }

  /** Every account's policy, by account ID: the retention job's work list and `accounts list`. */
  async all(executor: Executor): Promise<RetentionPolicy[]> {
    const rows = await executor
      .selectFrom('accounts')
      .leftJoin('account_retention', 'account_retention.account_id', 'accounts.id')
      .select(['accounts.id', 'account_retention.evidence_days', 'account_retention.transactions_days', 'account_retention.deliveries_days'])
      .orderBy('accounts.id')
      .execute();
    return rows.map((row) => this.policy(row.id, row));
  }

  /** Applies a change to an existing account's periods; the result must keep evidence no longer than its transaction. */
  async change(executor: Executor, accountId: string, change: RetentionChange): Promise<{ policy: RetentionPolicy; previous: RetentionPolicy }> {
    const previous = await this.forAccount(executor, accountId);
    const row: OverrideRow = { evidence_days: null, transactions_days: null, deliveries_days: null };
    for (const kind of RETENTION_KINDS) {
      const value = kind in change ? change[kind] : previous.sources[kind] === 'account' ? previous[kind] : null;
      row[COLUMNS[kind]] = value === undefined || value === null ? null : validDays(kind, value);
    }
    const policy = this.policy(accountId, row);
    const problem = retentionProblem(policy);
    if (problem) throw new RetentionValidationError(`Account ${accountId}: ${problem}`);
    await executor
      .insertInto('account_retention')
      .values({ account_id: accountId, ...row, updated_at: this.deps.clock.now() })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ ...row, updated_at: this.deps.clock.now() }))
      .execute();
    return { policy, previous };
  }

  private policy(accountId: string, row: OverrideRow | undefined): RetentionPolicy {
    const policy = { accountId, ...this.deps.defaults, sources: {} } as RetentionPolicy;
    for (const kind of RETENTION_KINDS) {
      const own = row?.[COLUMNS[kind]] ?? null;
      policy[kind] = own ?? this.deps.defaults[kind];
      policy.sources[kind] = own === null ? 'default' : 'account';
    }
    return policy;
  }
}

function validDays(kind: RetentionKind, value: number): number {
  const max = MAX_RETENTION_DAYS[kind];
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RetentionValidationError(`${kind} must be a whole number of days, 1–${max}`);
  return value;
}

export const DAY_MS = 24 * 3600 * 1000;
