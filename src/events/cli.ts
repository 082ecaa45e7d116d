import type { Command } from 'commander';
import { CliError } from '../cli/errors.js';
import { configFrom, print, withStore } from '../cli/options.js';
import { createContext, type AppContext } from '../context.js';
import { DEFAULT_ACCOUNT_ID } from '../oauth/clients.js';
import { loadMasterKey } from '../security/keyring.js';
import { registerWebhookListen } from './listen.js';
import { SubscriptionCreateBody } from './schemas.js';
import type { SubscriptionView } from './subscriptions.js';

/**
 * `reuseid events subscriptions create|list|delete`: the operator's side of the events API, audited the same way.
 * `reuseid webhooks listen`: a local receiver that checks what a subscription delivers.
 */
export function registerEventCommands(program: Command): void {
  registerWebhookListen(program);
  const subscriptions = program.command('events').description('Webhook events').command('subscriptions').description('Manage webhook subscriptions');
  const common = (command: Command) =>
    command
      .option('--account <id>', 'the account', DEFAULT_ACCOUNT_ID)
      .option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)')
      .option('--json', 'machine-readable output');

  common(subscriptions.command('create').description('Create a subscription; its signing secret is shown once'))
    .requiredOption('--name <name>', 'a name for the subscription')
    .requiredOption('--url <url>', 'the receiver: https, public addresses only (unless REUSEID_WEBHOOK_ALLOW_PRIVATE=true)')
    .option('--event <name...>', 'deliver only these event names (default: every event)')
    .action(async (flags) => {
      const input = SubscriptionCreateBody.safeParse({ name: flags.name, url: flags.url, eventNames: flags.event });
      if (!input.success) throw new CliError('invalid_argument', input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const created = await withAccount(flags, (ctx, accountId) => ctx.webhooks.subscriptions.create(accountId, input.data, {}));
      print(flags.json, created, `${describe(created)}\nsecret: ${created.secret}   (shown once; store it now)`);
    });

  common(subscriptions.command('list').description('List the subscriptions of an account')).action(async (flags) => {
    const items = await withAccount(flags, (ctx, accountId) => ctx.webhooks.subscriptions.list(accountId));
    print(flags.json, { items }, items.length ? items.map(describe).join('\n\n') : 'no subscriptions');
  });

  common(subscriptions.command('delete').description('Delete a subscription and its delivery log'))
    .argument('<id>', 'the subscription id')
    .action(async (id: string, flags) => {
      await withAccount(flags, (ctx, accountId) => ctx.webhooks.subscriptions.delete(accountId, id, {}));
      print(flags.json, { deleted: id }, `deleted ${id}`);
    });
}

async function withAccount<T>(flags: { account: string; database?: string }, work: (ctx: AppContext, accountId: string) => Promise<T>): Promise<T> {
  const config = configFrom(flags);
  return withStore(config, async (store) => {
    const account = await store.db.selectFrom('accounts').select('id').where('id', '=', flags.account).executeTakeFirst();
    if (!account) throw new CliError('account_not_found', `No account ${flags.account}; accounts are created with \`reuseid clients create --account\``);
    const ctx = createContext({ config, store, masterKey: loadMasterKey(config) });
    const result = await work(ctx, flags.account);
    // Chains the audit item of the change before the command ends (best effort: a running server chains it too).
    await ctx.auditSequencer.sequenceNow().catch(() => undefined);
    return result;
  });
}

function describe(s: SubscriptionView): string {
  return [
    `id:      ${s.id}`,
    `name:    ${s.name}`,
    `url:     ${s.url}`,
    `events:  ${s.eventNames?.join(', ') ?? 'all'}`,
    `enabled: ${s.enabled ? 'yes' : `no (${s.disabledReason})`}`,
  ].join('\n');
}
