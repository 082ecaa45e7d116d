import { AuditLog, type AuditEntry } from '../audit/log.js';
import { AuditSequencer } from '../audit/sequencer.js';
import { loadConfig, type Config } from '../config.js';
import { cryptoRandom, systemClock } from '../shared/runtime.js';
import { migrateToLatest, openStore, type Store, type Tx } from '../store/database.js';

/** CLI flags override the environment; the same validation applies to both. */
export function configFrom(flags: { database?: string; port?: string; host?: string; sandbox?: boolean; publicUrl?: string }): Config {
  return loadConfig(process.env, {
    REUSEID_DATABASE_URL: flags.database,
    PORT: flags.port,
    HOST: flags.host,
    REUSEID_SANDBOX: flags.sandbox ? 'true' : undefined,
    REUSEID_PUBLIC_URL: flags.publicUrl,
  });
}

/**
 * Opens the configured database with its schema up to date, runs the work, and closes it. `migrate: false` leaves the
 * schema to the work itself (the `migrate` command, which reports what it applied).
 */
export async function withStore<T>(config: Config, work: (store: Store) => Promise<T>, options: { migrate?: boolean } = {}): Promise<T> {
  // A command needs few connections; the running instances' pools already take most of max_connections.
  const store = openStore(config.databaseUrl, { poolSize: 2 });
  try {
    if (options.migrate !== false) await migrateToLatest(store.db);
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Runs a change and its audit item in one transaction: both exist or neither does. A null audit means nothing changed. */
export async function audited<T>(flags: { database?: string }, change: (trx: Tx) => Promise<{ result: T; audit: AuditEntry | null }>): Promise<T> {
  return withStore(configFrom(flags), async (store) => {
    const result = await store.write(async (trx) => {
      const { result, audit } = await change(trx);
      if (audit) await new AuditLog({ clock: systemClock, random: cryptoRandom }).append(trx, audit);
      return result;
    });
    // Chains the item before the command ends, so that it is in the chain even when no server runs. Best effort: the
    // change is committed and its item pending either way, and a running server's sequencer chains it.
    await new AuditSequencer({ store, clock: systemClock }).sequenceNow().catch(() => undefined);
    return result;
  });
}

export function print(json: boolean, value: unknown, human: string): void {
  console.log(json ? JSON.stringify(value, null, 2) : human);
}
