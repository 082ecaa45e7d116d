import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACCOUNT } from '../../src/audit/log.js';
import { verifyPassword } from '../../src/console/passwords.js';
import { ClientStore } from '../../src/oauth/clients.js';
import { systemClock } from '../../src/shared/runtime.js';
import { openStore, type Store } from '../../src/store/database.js';
import { migrations } from '../../src/store/migrations/index.js';
import { testDatabases } from '../support/databases.js';
import { cliDatabase, reuseidJson, runReuseid, type CliDatabase } from './support.js';

/**
 * The operator's commands, run as the built CLI against a database file (SQLite) or server (PostgreSQL). Each run is a
 * new Node process loading the whole program, hence the generous timeout for tests that run a dozen of them.
 */
const MANY_PROCESSES = { timeout: 180_000 };

for (const database of testDatabases) {
  describe(`reuseid management commands (${database.name})`, MANY_PROCESSES, () => {
    let db: CliDatabase;
    let store: Store;
    const cli = (...args: string[]) => reuseidJson(db.env, ...args, '--database', db.url);
    const run = (...args: string[]) => runReuseid(db.env, ...args, '--database', db.url);
    const auditEvents = async (accountId: string) =>
      await store.db.selectFrom('audit_items').select(['event_type', 'body']).where('account_id', '=', accountId).orderBy('sequence').execute();

    beforeAll(async () => {
      db = await cliDatabase(database);
    });
    afterAll(async () => {
      await store?.close();
      await db.drop();
    });

    it('migrate on a fresh database lists the migrations it applied, then none', async () => {
      // Every migration of the static map, in its order (a new one adds its line there, not here).
      expect(await cli('migrate')).toEqual({ applied: Object.keys(migrations) });
      expect(Object.keys(migrations)).toEqual([...Object.keys(migrations)].sort());
      expect(await cli('migrate')).toEqual({ applied: [] });
      store = openStore(db.url, { poolSize: 2 });
    });

    it('clients: create, list, show, rotate the secret, disable, enable and delete, each audited without secrets', async () => {
      const created = await cli('clients', 'create', '--name', 'Bank RP', '--account', 'bank-a', '--permission', 'reuseid-onboarding', 'events');
      await cli('clients', 'create', '--name', 'Other RP', '--account', 'bank-b');
      const { clientId, clientSecret } = created;
      const clients = new ClientStore({ clock: systemClock });
      expect(await clients.authenticate(store.db, clientId, clientSecret)).toMatchObject({ clientId, accountId: 'bank-a' });

      const listed = await cli('clients', 'list', '--account', 'bank-a');
      expect(listed.items).toEqual([
        {
          clientId,
          accountId: 'bank-a',
          name: 'Bank RP',
          permissions: ['reuseid-onboarding', 'events'],
          tokenTtlSeconds: 600,
          enabled: true,
          createdAt: expect.any(String),
          disabledAt: null,
        },
      ]);
      expect((await cli('clients', 'list')).items.map((c: { accountId: string }) => c.accountId).sort()).toEqual(['bank-a', 'bank-b']);
      const shown = await cli('clients', 'show', clientId);
      expect(shown).toEqual(listed.items[0]);

      const rotated = await cli('clients', 'rotate-secret', clientId);
      expect(rotated).toMatchObject({ clientId, enabled: true, clientSecret: expect.stringMatching(/^rsec_/) });
      expect(rotated.clientSecret).not.toBe(clientSecret);
      expect(await clients.authenticate(store.db, clientId, clientSecret)).toBeNull();
      expect(await clients.authenticate(store.db, clientId, rotated.clientSecret)).not.toBeNull();
      const row = await store.db.selectFrom('api_clients').select('secret_hash').where('id', '=', clientId).executeTakeFirstOrThrow();
      expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);

      expect(await cli('clients', 'disable', clientId)).toMatchObject({ clientId, enabled: false, disabledAt: expect.any(String) });
      expect(await clients.authenticate(store.db, clientId, rotated.clientSecret)).toBeNull();
      // Disabling twice changes nothing and audits nothing.
      expect(await cli('clients', 'disable', clientId)).toMatchObject({ enabled: false });
      expect(await cli('clients', 'enable', clientId)).toMatchObject({ clientId, enabled: true, disabledAt: null });
      expect(await clients.authenticate(store.db, clientId, rotated.clientSecret)).not.toBeNull();

      expect(await cli('clients', 'delete', clientId)).toEqual({ deleted: clientId, accountId: 'bank-a' });
      expect(await clients.authenticate(store.db, clientId, rotated.clientSecret)).toBeNull();
      expect((await cli('clients', 'list', '--account', 'bank-a')).items).toEqual([]);

      const events = await auditEvents('bank-a');
      expect(events.map((e) => e.event_type)).toEqual(['client.created', 'client.secret_rotated', 'client.disabled', 'client.enabled', 'client.deleted']);
      for (const { body } of events) {
        expect(body).not.toContain(clientSecret);
        expect(body).not.toContain(rotated.clientSecret);
        expect(body).not.toContain(row.secret_hash);
      }
      for (const output of [listed, shown, rotated]) expect(JSON.stringify(output)).not.toMatch(/hash/i);
    });

    it('agents: create, list, set the accounts, disable, enable and reset the password, signing the agent out; all audited', async () => {
      const scope = ['--account', 'bank-b', '--account', 'bank-a', '--account', 'bank-b'];
      const created = await cli('agents', 'create', '--email', 'Reviewer@Bank.test', ...scope, '--password', 'correct horse battery');
      expect(created).toEqual({ id: expect.any(String), email: 'reviewer@bank.test', accounts: ['bank-a', 'bank-b'] });
      const listed = await cli('agents', 'list');
      expect(listed.items).toEqual([{ ...created, enabled: true, createdAt: expect.any(String), disabledAt: null }]);
      expect(JSON.stringify(listed)).not.toMatch(/hash|scrypt/);
      expect(await cli('agents', 'set-accounts', '--email', 'reviewer@bank.test', '--all-accounts')).toMatchObject({ id: created.id, accounts: 'all' });
      expect(await cli('agents', 'set-accounts', '--id', created.id, '--account', 'bank-a')).toMatchObject({ accounts: ['bank-a'] });
      // The same scope again changes nothing and is not audited.
      await cli('agents', 'set-accounts', '--id', created.id, '--account', 'bank-a');
      expect((await cli('agents', 'list')).items[0].accounts).toEqual(['bank-a']);

      const signIn = (idHash: string) =>
        store.db
          .insertInto('console_sessions')
          .values({ id_hash: idHash, agent_id: created.id, created_at: Date.now(), last_seen_at: Date.now(), expires_at: Date.now() + 60_000 })
          .execute();
      const sessions = async () => (await store.db.selectFrom('console_sessions').select('id_hash').where('agent_id', '=', created.id).execute()).length;

      await signIn('a'.repeat(64));
      expect(await cli('agents', 'disable', '--email', 'reviewer@bank.test')).toMatchObject({ id: created.id, enabled: false });
      expect(await sessions()).toBe(0);
      expect(await cli('agents', 'enable', '--id', created.id)).toMatchObject({ id: created.id, enabled: true, disabledAt: null });

      await signIn('b'.repeat(64));
      await signIn('c'.repeat(64));
      const reset = await cli('agents', 'reset-password', '--email', 'REVIEWER@bank.test', '--password', 'a new long passphrase');
      expect(reset).toMatchObject({ id: created.id, sessionsEnded: 2 });
      expect(await sessions()).toBe(0);
      const { password_hash } = await store.db.selectFrom('console_agents').select('password_hash').where('id', '=', created.id).executeTakeFirstOrThrow();
      expect(await verifyPassword('a new long passphrase', password_hash)).toBe(true);
      expect(await verifyPassword('correct horse battery', password_hash)).toBe(false);

      const events = await auditEvents(SYSTEM_ACCOUNT);
      expect(events.map((e) => e.event_type)).toEqual([
        'agent.created',
        'agent.accounts_changed',
        'agent.accounts_changed',
        'agent.disabled',
        'agent.enabled',
        'agent.password_reset',
      ]);
      expect(events.slice(0, 3).map(({ body }) => JSON.parse(body).data)).toEqual([
        { agentId: created.id, accounts: ['bank-a', 'bank-b'], source: 'cli' },
        { agentId: created.id, accounts: 'all', previousAccounts: ['bank-a', 'bank-b'], source: 'cli' },
        { agentId: created.id, accounts: ['bank-a'], previousAccounts: 'all', source: 'cli' },
      ]);
      for (const { body } of events) {
        expect(JSON.parse(body)).toMatchObject({ referenceId: created.id, data: { agentId: created.id } });
        expect(body).not.toMatch(/passphrase|horse|reviewer@/);
      }
    });

    it('refuses bad agent input with codes: unknown agent or account, short password, both or neither of --email and --id, of --account and --all-accounts', async () => {
      const unknown = await run('agents', 'reset-password', '--email', 'nobody@bank.test', '--password', 'long enough password', '--json');
      expect(unknown.code).not.toBe(0);
      expect(JSON.parse(unknown.stdout)).toEqual({ error: { code: 'agent_not_found', message: 'No agent nobody@bank.test' } });
      const short = await run('agents', 'create', '--email', 'short@bank.test', '--all-accounts', '--password', 'short', '--json');
      expect(JSON.parse(short.stdout).error.code).toBe('invalid_argument');
      const neither = await run('agents', 'disable', '--json');
      expect(JSON.parse(neither.stdout).error).toEqual({ code: 'invalid_argument', message: 'Name the agent with either --email or --id' });
      const create = (...args: string[]) => run('agents', 'create', '--email', 'scope@bank.test', '--password', 'long enough password', ...args, '--json');
      expect(JSON.parse((await create()).stdout).error).toEqual({
        code: 'invalid_argument',
        message: 'Give the agent its accounts: --account ID (repeatable), or --all-accounts',
      });
      expect(JSON.parse((await create('--account', 'bank-a', '--all-accounts')).stdout).error).toEqual({
        code: 'invalid_argument',
        message: 'Give either --account or --all-accounts, not both',
      });
      expect(JSON.parse((await create('--account', 'bank-a', '--account', 'nope')).stdout).error.code).toBe('account_not_found');
      const setNothing = await run('agents', 'set-accounts', '--email', 'reviewer@bank.test', '--json');
      expect(JSON.parse(setNothing.stdout).error.code).toBe('invalid_argument');
      expect((await cli('agents', 'list')).items.map((agent: { email: string }) => agent.email)).toEqual(['reviewer@bank.test']);
      // Refused changes leave no trace in the audit log: the six items of the previous test are all there is.
      expect(await auditEvents(SYSTEM_ACCOUNT)).toHaveLength(6);
    });

    it('errors: JSON on stdout with --json, plain text on stderr without; both exit non-zero', async () => {
      const json = await run('clients', 'show', 'nope', '--json');
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'client_not_found', message: 'No API client nope' } });
      expect(json.stderr).toBe('');

      const text = await run('clients', 'show', 'nope');
      expect(text.code).toBe(1);
      expect(text.stdout).toBe('');
      expect(text.stderr.trim()).toBe('reuseid: No API client nope');

      const usage = await run('clients', 'list', '--no-such-option', '--json');
      expect(usage.code).not.toBe(0);
      expect(JSON.parse(usage.stdout)).toEqual({ error: { code: 'commander.unknownOption', message: "unknown option '--no-such-option'" } });

      const invalid = await run('clients', 'create', '--name', 'x', '--token-ttl', '0', '--json');
      expect(JSON.parse(invalid.stdout).error.code).toBe('invalid_argument');
      const noAccount = await run('events', 'subscriptions', 'list', '--account', 'no-such-account', '--json');
      expect(JSON.parse(noAccount.stdout).error.code).toBe('account_not_found');
    });

    it('audit verify --json names every chain head, matching the head records', async () => {
      const report = await cli('audit', 'verify');
      const heads = await store.db.selectFrom('audit_chain_heads').select(['account_id', 'sequence', 'hash']).orderBy('account_id').execute();
      const expected = heads.map((h) => ({ accountId: h.account_id, sequence: Number(h.sequence), hash: h.hash }));
      expect(expected.map((h) => h.accountId)).toEqual(expect.arrayContaining(['bank-a', 'bank-b', SYSTEM_ACCOUNT]));
      expect(report.ok).toBe(true);
      expect(report.heads).toEqual(expected);
      for (const chain of report.accounts) expect(chain.head).toEqual(expect.objectContaining({ sequence: chain.items }));

      const text = await run('audit', 'verify', '--account', 'bank-a');
      const bankA = expected.find((h) => h.accountId === 'bank-a')!;
      expect(text.stdout.trim()).toBe(`bank-a: 5 items, chain intact; head 5 ${bankA.hash}\npending: none (every item is chained)`);
    });
  });
}

describe('reuseid --version', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = await runReuseid(process.env, '--version');
    expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});
