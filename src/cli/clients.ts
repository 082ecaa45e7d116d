import type { Command } from 'commander';
import { clientChangedAudit, clientCreatedAudit } from '../audit/entries.js';
import { ClientStore, DEFAULT_ACCOUNT_ID, DEFAULT_TOKEN_TTL_SECONDS, type ClientView } from '../oauth/clients.js';
import { PERMISSIONS } from '../oauth/permissions.js';
import { systemClock } from '../shared/runtime.js';
import { CliError } from './errors.js';
import { audited, configFrom, print, withStore } from './options.js';

const clientStore = new ClientStore({ clock: systemClock });

export function registerClientCommands(program: Command): void {
  const clients = program.command('clients').description('Manage OAuth API clients');
  const common = (command: Command) =>
    command.option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)').option('--json', 'machine-readable output');

  common(clients.command('create').description('Create an API client; its secret is shown once and stored only as a hash'))
    .requiredOption('--name <name>', 'a name for the client')
    .option('--account <id>', 'the account (tenant) it belongs to; created when it does not exist', DEFAULT_ACCOUNT_ID)
    .option('--permission <permission...>', `permissions: ${PERMISSIONS.join(', ')}`, ['reuseid-onboarding'])
    .option('--token-ttl <seconds>', 'access token lifetime, 1–3600 seconds', String(DEFAULT_TOKEN_TTL_SECONDS))
    .action(async (flags) => {
      const created = await audited(flags, async (trx) => {
        const client = await clientStore.create(trx, {
          name: flags.name,
          accountId: flags.account,
          permissions: flags.permission,
          tokenTtlSeconds: Number(flags.tokenTtl),
        });
        return { result: client, audit: clientCreatedAudit(client) };
      });
      const output = { clientId: created.clientId, clientSecret: created.clientSecret, accountId: created.accountId, permissions: created.permissions };
      print(
        flags.json,
        output,
        [
          `client id:     ${created.clientId}`,
          `client secret: ${created.clientSecret}   (shown once; store it now)`,
          `account:       ${created.accountId}`,
          `permissions:   ${created.permissions.join(', ')}`,
        ].join('\n'),
      );
    });

  common(clients.command('list').description('List API clients (never their secrets)'))
    .option('--account <id>', 'only the clients of this account (default: every account)')
    .action(async (flags) => {
      const items = await withStore(configFrom(flags), (store) => clientStore.list(store.db, { accountId: flags.account }));
      print(flags.json, { items }, items.length ? items.map(describe).join('\n\n') : 'no clients');
    });

  common(clients.command('show').description('Show one API client').argument('<clientId>', 'the client id')).action(async (clientId: string, flags) => {
    const client = await withStore(configFrom(flags), (store) => clientStore.find(store.db, clientId));
    if (!client) throw clientNotFound(clientId);
    print(flags.json, client, describe(client));
  });

  common(clients.command('rotate-secret').description('Give a client a new secret, shown once; the old one stops working at once'))
    .argument('<clientId>', 'the client id')
    .action(async (clientId: string, flags) => {
      const { client, clientSecret } = await audited(flags, async (trx) => {
        const rotated = await clientStore.rotateSecret(trx, clientId);
        if (!rotated) throw clientNotFound(clientId);
        return { result: rotated, audit: clientChangedAudit(rotated.client, 'client.secret_rotated') };
      });
      print(flags.json, { ...client, clientSecret }, `${describe(client)}\nclient secret: ${clientSecret}   (shown once; store it now)`);
    });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    common(
      clients
        .command(name)
        .description(
          disabled ? 'Refuse the client new tokens (tokens issued earlier live out their short lifetime)' : 'Let a disabled client obtain tokens again',
        ),
    )
      .argument('<clientId>', 'the client id')
      .action(async (clientId: string, flags) => {
        const { client } = await audited(flags, async (trx) => {
          const outcome = await clientStore.setDisabled(trx, clientId, disabled);
          if (!outcome) throw clientNotFound(clientId);
          return { result: outcome, audit: outcome.changed ? clientChangedAudit(outcome.client, disabled ? 'client.disabled' : 'client.enabled') : null };
        });
        print(flags.json, client, describe(client));
      });
  }

  common(clients.command('delete').description('Delete an API client (tokens issued earlier live out their short lifetime)'))
    .argument('<clientId>', 'the client id')
    .action(async (clientId: string, flags) => {
      const client = await audited(flags, async (trx) => {
        const deleted = await clientStore.delete(trx, clientId);
        if (!deleted) throw clientNotFound(clientId);
        return { result: deleted, audit: clientChangedAudit(deleted, 'client.deleted') };
      });
      print(flags.json, { deleted: client.clientId, accountId: client.accountId }, `deleted ${client.clientId}`);
    });
}

function clientNotFound(clientId: string): CliError {
  return new CliError('client_not_found', `No API client ${clientId}`);
}

function describe(client: ClientView): string {
  return [
    `client id:   ${client.clientId}`,
    `name:        ${client.name}`,
    `account:     ${client.accountId}`,
    `permissions: ${client.permissions.join(', ')}`,
    `token ttl:   ${client.tokenTtlSeconds} s`,
    `created:     ${client.createdAt}`,
    `enabled:     ${client.enabled ? 'yes' : `no (since ${client.disabledAt})`}`,
  ].join('\n');
}
