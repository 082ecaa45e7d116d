import type { Command } from 'commander';
import { CliError } from '../cli/errors.js';
import { configFrom, print, withStore } from '../cli/options.js';
import { systemClock } from '../shared/runtime.js';
import { PENDING_BOUND_SECONDS, verifyAuditChains, type ChainReport, type PendingTail } from './verify.js';

/** `reuseid audit verify`: exits non-zero when any chain is broken, naming the first bad item of each. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('The tamper-evident audit log');
  audit
    .command('verify')
    .description('Check the audit hash chains: altered, inserted or deleted items are reported by sequence and cursor')
    .option('--account <id>', 'check only this account')
    .option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)')
    .option('--max-pending-age <seconds>', `fail when an item has waited longer than this to be chained (default ${PENDING_BOUND_SECONDS})`)
    .option('--json', 'machine-readable output')
    .action(async (flags) => {
      const pendingBoundSeconds = flags.maxPendingAge === undefined ? PENDING_BOUND_SECONDS : pendingBound(flags.maxPendingAge);
      const report = await withStore(configFrom(flags), (store) =>
        verifyAuditChains(store.db, { accountId: flags.account, now: systemClock.now(), pendingBoundSeconds }),
      );
      // The heads, copied somewhere the database's administrators cannot write, later prove the chains were not rewritten.
      const heads = report.accounts.flatMap(({ accountId, head }) => (head ? [{ accountId, ...head }] : []));
      const chains = report.accounts.length ? report.accounts.map(describe).join('\n') : 'no audit items';
      print(flags.json, { ...report, heads }, `${chains}\n${describePending(report.pending)}`);
      if (!report.ok) process.exitCode = 1;
    });
}

function pendingBound(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0) throw new CliError('invalid_argument', '--max-pending-age must be a whole number of seconds');
  return seconds;
}

function describePending(pending: PendingTail): string {
  if (pending.items === 0) return 'pending: none (every item is chained)';
  const age = `${pending.items} items not chained yet, the oldest ${pending.oldestAgeSeconds} s old`;
  if (pending.withinBound) return `pending: ${age} (within the ${pending.boundSeconds} s bound)`;
  return `pending: ${age}, BEYOND the ${pending.boundSeconds} s bound: no server has chained them (a running server does)`;
}

function describe(chain: ChainReport): string {
  const head = chain.head ? `; head ${chain.head.sequence} ${chain.head.hash}` : '';
  if (!chain.problem) return `${chain.accountId}: ${chain.items} items, chain intact${head}`;
  const { kind, sequence, cursor, detail } = chain.problem;
  return `${chain.accountId}: BROKEN at sequence ${sequence}${cursor ? ` (cursor ${cursor})` : ''}: ${kind}: ${detail}${head}`;
}
