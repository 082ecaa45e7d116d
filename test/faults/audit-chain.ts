import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { VerifyReport } from '../../src/audit/verify.js';
import type { Fleet } from './fleet.js';

/**
 * The audit chain seen from outside the fleet: which instance holds the sequencer (its election connection names
 * the process in pg_stat_activity), how many items of an account wait to be chained, and `reuseid audit verify`
 * run as an operator would.
 */
const BIN = join(import.meta.dirname, '../../bin/reuseid.js');

/** The index of the instance holding the sequencer's advisory lock, or null while none does. */
export async function sequencerInstance(fleet: Fleet): Promise<number | null> {
  const rows = await query<{ application_name: string }>(
    fleet.databaseUrl,
    `select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.granted and a.application_name like 'reuseid audit-sequencer %'`,
  );
  if (rows.length === 0) return null;
  const pid = Number(rows[0]!.application_name.split(' ').at(-1));
  const index = fleet.instances.findIndex((instance) => instance.child.pid === pid);
  return index < 0 ? null : index;
}

export async function pendingAuditItems(databaseUrl: string, accountId: string): Promise<number> {
  const rows = await query<{ n: number }>(databaseUrl, 'select count(*)::int as n from audit_pending where account_id = $1', [accountId]);
  return rows[0]!.n;
}

export async function auditVerify(databaseUrl: string): Promise<VerifyReport> {
  const { stdout } = await promisify(execFile)('node', [BIN, 'audit', 'verify', '--json', '--database', databaseUrl]).catch((error: { stdout?: string }) => ({
    stdout: error.stdout ?? '',
  }));
  return JSON.parse(stdout) as VerifyReport;
}

async function query<T extends pg.QueryResultRow>(databaseUrl: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
