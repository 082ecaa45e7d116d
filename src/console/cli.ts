import type { Command } from 'commander';
import { configFrom, print, withStore } from '../cli/options.js';
import { cryptoRandom, systemClock } from '../shared/runtime.js';
import { AgentStore } from './agents.js';

export function registerAgentCommands(program: Command): void {
  const agents = program.command('agents').description('Manage agent accounts of the VideoID review console (/console)');
  agents
    .command('create')
    .description('Create an agent account; the password is stored only as an scrypt hash')
    .requiredOption('--email <email>', 'the agent\'s email, used to sign in')
    .option('--password <password>', 'the password (at least 12 characters); prompted without echo when omitted, which keeps it out of shell history')
    .option('--database <url>', 'sqlite:PATH or postgres://… (REUSEID_DATABASE_URL)')
    .option('--json', 'machine-readable output')
    .action(async (flags) => {
      const password: string = flags.password ?? (await promptNewPassword());
      const agent = await withStore(configFrom(flags), (store) => new AgentStore({ clock: systemClock, random: cryptoRandom }).create(store.db, { email: flags.email, password }));
      print(flags.json, agent, `agent ${agent.email} created (id ${agent.id})`);
    });
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
