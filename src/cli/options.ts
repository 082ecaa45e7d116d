import { loadConfig, type Config } from '../config.js';
import { migrateToLatest, openStore, type Store } from '../store/database.js';

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

/** Opens the configured database with its schema up to date, runs the work, and closes it. */
export async function withStore<T>(config: Config, work: (store: Store) => Promise<T>): Promise<T> {
  // A command needs few connections; the running instances' pools already take most of max_connections.
  const store = openStore(config.databaseUrl, { poolSize: 2 });
  try {
    await migrateToLatest(store.db);
    return await work(store);
  } finally {
    await store.close();
  }
}

export function print(json: boolean, value: unknown, human: string): void {
  console.log(json ? JSON.stringify(value, null, 2) : human);
}
