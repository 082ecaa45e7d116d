import type { Command } from 'commander';
import { agentChangedAudit } from '../audit/entries.js';
import { CliError } from '../cli/errors.js';
import { audited, configFrom, print, withStore } from '../cli/options.js';
import { cryptoRandom, systemClock } from '../shared/runtime.js';
import type { Executor } from '../store/database.js';
import type { AccountScope } from '../proofing/providers/videoid/cases.js';
import { AgentStore, validScope, type AgentView } from './agents.js';

const agentStore = new AgentStore({ clock: systemClock, random: cryptoRandom });

export function registerAgentCommands(program: Command): void {
  const agents = program.command('agents').description('Manage agent accounts of the VideoID review console (/console)');
  const common = (command: Command) =>
    command.option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)').option('--json', 'machine-readable output');
  const identified = (command: Command) =>
    common(command).option('--email <email>', 'the agent, by email').option('--id <id>', 'the agent, by id (instead of --email)');
  const scoped = (command: Command) =>
    command
      .option('--account <id>', 'an account whose cases the agent reviews (repeat for several)', (id: string, ids: string[]) => [...ids, id], [])
      .option('--all-accounts', "the agent reviews every account's cases (the operator's own review team)");

  scoped(common(agents.command('create').description('Create an agent account; the password is stored only as an scrypt hash')))
    .requiredOption('--email <email>', "the agent's email, used to sign in")
    .option('--password <password>', PASSWORD_HELP)
    .action(async (flags) => {
      const accounts = scopeOf(flags);
      const password: string = flags.password ?? (await promptNewPassword());
      const agent = await audited(flags, async (trx) => {
        await requireAccounts(trx, accounts);
        const created = await agentStore.create(trx, { email: flags.email, password, accounts });
        return { result: created, audit: agentChangedAudit(created, 'agent.created', { accounts: created.accounts }) };
      });
      print(flags.json, agent, `agent ${agent.email} created (id ${agent.id}), ${scopeText(agent.accounts)}`);
    });

  scoped(
    identified(agents.command('set-accounts').description("Replace the accounts whose cases an agent reviews; applies at the agent's next request")),
  ).action(async (flags) => {
    const accounts = scopeOf(flags);
    const agent = await audited(flags, async (trx) => {
      await requireAccounts(trx, accounts);
      const outcome = await agentStore.setAccounts(trx, (await findAgent(trx, flags)).id, accounts);
      if (!outcome) throw agentNotFound(flags);
      const changed = JSON.stringify(outcome.previous) !== JSON.stringify(outcome.agent.accounts);
      const data = { accounts: outcome.agent.accounts, previousAccounts: outcome.previous };
      return { result: outcome.agent, audit: changed ? agentChangedAudit(outcome.agent, 'agent.accounts_changed', data) : null };
    });
    print(flags.json, agent, describe(agent));
  });

  common(agents.command('list').description('List the agent accounts')).action(async (flags) => {
    const items = await withStore(configFrom(flags), (store) => agentStore.list(store.db));
    print(flags.json, { items }, items.length ? items.map(describe).join('\n') : 'no agents');
  });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    identified(agents.command(name).description(disabled ? 'Stop an agent from signing in, and sign them out' : 'Let a disabled agent sign in again')).action(
      async (flags) => {
        const { agent } = await audited(flags, async (trx) => {
          const outcome = await agentStore.setDisabled(trx, (await findAgent(trx, flags)).id, disabled);
          if (!outcome) throw agentNotFound(flags);
          return { result: outcome, audit: outcome.changed ? agentChangedAudit(outcome.agent, disabled ? 'agent.disabled' : 'agent.enabled') : null };
        });
        print(flags.json, agent, describe(agent));
      },
    );
  }

  identified(agents.command('reset-password').description('Set a new password for an agent and sign them out everywhere'))
    .option('--password <password>', PASSWORD_HELP)
    .action(async (flags) => {
      const by = agentSelector(flags);
      const password: string = flags.password ?? (await promptNewPassword());
      const { agent, sessionsEnded } = await audited(flags, async (trx) => {
        const outcome = await agentStore.resetPassword(trx, (await findAgent(trx, by)).id, password);
        if (!outcome) throw agentNotFound(by);
        return { result: outcome, audit: agentChangedAudit(outcome.agent, 'agent.password_reset', { sessionsEnded: outcome.sessionsEnded }) };
      });
      print(flags.json, { ...agent, sessionsEnded }, `password of ${agent.email} reset; ${sessionsEnded} session(s) ended`);
    });
}

const PASSWORD_HELP = 'the password (at least 12 characters); prompted without echo when omitted, which keeps it out of shell history';

type AgentSelector = { id: string } | { email: string };

/** Exactly one of --email and --id. */
function agentSelector(flags: { email?: string; id?: string }): AgentSelector {
  if ((flags.email === undefined) === (flags.id === undefined)) throw new CliError('invalid_argument', 'Name the agent with either --email or --id');
  return flags.id !== undefined ? { id: flags.id } : { email: flags.email! };
}

/** Exactly one of --account (repeatable) and --all-accounts: an agent's scope is never implied. */
function scopeOf(flags: { account: string[]; allAccounts?: boolean }): AccountScope {
  if (flags.allAccounts === true && flags.account.length) throw new CliError('invalid_argument', 'Give either --account or --all-accounts, not both');
  if (flags.allAccounts === true) return 'all';
  if (!flags.account.length) throw new CliError('invalid_argument', 'Give the agent its accounts: --account ID (repeatable), or --all-accounts');
  return validScope(flags.account);
}

async function requireAccounts(executor: Executor, accounts: AccountScope): Promise<void> {
  if (accounts === 'all') return;
  const found = new Set((await executor.selectFrom('accounts').select('id').where('id', 'in', accounts).execute()).map((row) => row.id));
  const missing = accounts.find((id) => !found.has(id));
  if (missing !== undefined) throw new CliError('account_not_found', `No account ${missing}; accounts are created with \`reuseid clients create --account\``);
}

async function findAgent(executor: Executor, flags: { email?: string; id?: string }): Promise<AgentView> {
  const by = agentSelector(flags);
  const agent = await agentStore.find(executor, by);
  if (!agent) throw agentNotFound(by);
  return agent;
}

function agentNotFound(flags: { email?: string; id?: string }): CliError {
  return new CliError('agent_not_found', `No agent ${flags.email ?? flags.id}`);
}

function describe(agent: AgentView): string {
  const state = agent.enabled ? 'enabled' : `disabled since ${agent.disabledAt}`;
  return `${agent.email}  id ${agent.id}  created ${agent.createdAt}  ${state}  ${scopeText(agent.accounts)}`;
}

function scopeText(accounts: AccountScope): string {
  return accounts === 'all' ? 'all accounts' : `accounts ${accounts.join(', ')}`;
}

/** Asks twice on a terminal; reads one line when the input is piped (scripts, containers). */
async function promptNewPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readLine();
  const password = await promptHidden('Password: ');
  if ((await promptHidden('Repeat the password: ')) !== password) throw new Error('The passwords do not match');
  return password;
}

function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(question);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (outcome: () => void) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      outcome();
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(() => resolve(value));
        if (ch === '\u0003') return finish(() => reject(new Error('Cancelled')));
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
    };
    input.on('data', onData);
  });
}

async function readLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}
