import type { Command } from 'commander';
import { startServer, stopOnSignals } from '../server.js';
import { migrateToLatest } from '../store/database.js';
import { configFrom, print, withStore } from './options.js';

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('Run the server (what `npm start` runs)')
    .option('--port <port>', 'port to listen on (PORT, default 8080)')
    .option('--host <host>', 'address to bind (HOST, default 0.0.0.0)')
    .option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)')
    .option('--public-url <url>', 'base URL clients use to reach this server (REUSEID_PUBLIC_URL)')
    .option('--sandbox', 'enable the sandbox proofing provider (REUSEID_SANDBOX=true)')
    .action(async (flags) => {
      const server = await startServer(configFrom(flags));
      stopOnSignals(server);
    });

  program
    .command('migrate')
    .description('Apply database migrations to the configured database')
    .option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)')
    .option('--json', 'machine-readable output')
    .action(async (flags) => {
      const applied = await withStore(configFrom(flags), (store) => migrateToLatest(store.db), { migrate: false });
      print(flags.json, { applied }, applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    });
}
