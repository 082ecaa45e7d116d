import type { Command } from 'commander';
import { clientCreatedAudit } from '../audit/entries.js';
import { AuditLog } from '../audit/log.js';
import { ClientStore } from '../oauth/clients.js';
import { PERMISSIONS } from '../oauth/permissions.js';
import { cryptoRandom, systemClock } from '../shared/runtime.js';
import { configFrom, print, withStore } from './options.js';

export function registerClientCommands(program: Command): void {
  const clients = program.command('clients').description('Manage OAuth API clients');
  clients
    .command('create')
    .description('Create an API client; its secret is shown once and stored only as a hash')
    .requiredOption('--name <name>', 'a name for the client')
    .option('--account <id>', 'the account (tenant) it belongs to; created when it does not exist (default: "default")')
    .option('--permission <permission...>', `permissions: ${PERMISSIONS.join(', ')} (default: reuseid-onboarding)`)
    .option('--token-ttl <seconds>', 'access token lifetime, 1–3600 seconds (default 600)')
    .option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)')
    .option('--json', 'machine-readable output')
    .action(async (flags) => {
      const created = await withStore(configFrom(flags), (store) =>
        // The client and its audit item exist together or not at all.
        store.db.transaction().execute(async (trx) => {
          const client = await new ClientStore({ clock: systemClock }).create(trx, {
            name: flags.name,
            accountId: flags.account,
            permissions: flags.permission ?? ['reuseid-onboarding'],
            tokenTtlSeconds: flags.tokenTtl === undefined ? undefined : Number(flags.tokenTtl),
          });
          await new AuditLog({ clock: systemClock, random: cryptoRandom, lockForUpdate: store.lockForUpdate }).append(trx, clientCreatedAudit(client));
          return client;
        }),
      );
      const output = { clientId: created.clientId, clientSecret: created.clientSecret, accountId: created.accountId, permissions: created.permissions };
      print(flags.json, output, [
        `client id:     ${created.clientId}`,
        `client secret: ${created.clientSecret}   (shown once; store it now)`,
        `account:       ${created.accountId}`,
        `permissions:   ${created.permissions.join(', ')}`,
      ].join('\n'));
    });
}
