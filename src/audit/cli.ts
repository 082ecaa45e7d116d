import type { Command } from 'commander';
import { configFrom, print, withStore } from '../cli/options.js';
import { verifyAuditChains, type ChainReport } from './verify.js';

/** `reuseid audit verify`: exits non-zero when any chain is broken, naming the first bad item of each. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('The tamper-evident audit log');
  audit
    .command('verify')
    .description('Check the audit hash chains: altered, inserted or deleted items are reported by sequence and cursor')
    .option('--account <id>', 'check only this account')
    .option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)')
    .option('--json', 'machine-readable output')
    .action(async (flags) => {
      const report = await withStore(configFrom(flags), (store) => verifyAuditChains(store.db, { accountId: flags.account }));
      // The heads, copied somewhere the database's administrators cannot write, later prove the chains were not rewritten.
      const heads = report.accounts.flatMap(({ accountId, head }) => (head ? [{ accountId, ...head }] : []));
      print(flags.json, { ...report, heads }, report.accounts.length ? report.accounts.map(describe).join('\n') : 'no audit items');
      if (!report.ok) process.exitCode = 1;
    });
}

function describe(chain: ChainReport): string {
  const head = chain.head ? `; head ${chain.head.sequence} ${chain.head.hash}` : '';
  if (!chain.problem) return `${chain.accountId}: ${chain.items} items, chain intact${head}`;
  const { kind, sequence, cursor, detail } = chain.problem;
  return `${chain.accountId}: BROKEN at sequence ${sequence}${cursor ? ` (cursor ${cursor})` : ''}: ${kind}: ${detail}${head}`;
}
