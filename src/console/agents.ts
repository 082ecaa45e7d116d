import { z } from 'zod';
import type { AuditLog } from '../audit/log.js';
import type { Keyring } from '../security/keyring.js';
import type { Store } from '../store/database.js';
import type { RequestMeta } from '../http/request-meta.js';
import { errors } from '../shared/errors.js';
import { type CounterWindow, type RateCounters, retryAfterSeconds } from '../security/rate-counters.js';
import { isoTime, type Clock, type RandomSource } from '../shared/runtime.js';
import type { Executor } from '../store/database.js';
import { isUniqueViolation } from '../store/database.js';
import { setDisabledAt } from '../store/disabling.js';
import type { AccountScope } from '../proofing/providers/videoid/cases.js';
import { hashOfNoOne, hashPassword, verifyPassword } from './passwords.js';

/**
 * Agents review VideoID captures in the console. They are staff of the operator, not API clients, and review the
 * cases of their accounts only: the listed ones, or all of them for the operator's own review team.
 */
export interface Agent {
  id: string;
  email: string;
  accounts: AccountScope;
}

/** What operators see of an agent: never the password hash. */
export interface AgentView extends Agent {
  enabled: boolean;
  createdAt: string;
  disabledAt: string | null;
}

/** A bad email or password, or an email taken already: the operator's input, not a failure of the system. */
export class AgentValidationError extends Error {}

export const AgentEmail = z.string().trim().toLowerCase().max(254).pipe(z.email());
/** Length is what makes a password strong; 12 characters is the floor for staff handling identity documents. */
export const AgentPassword = z.string().min(12, 'at least 12 characters').max(256);

function validPassword(password: string): string {
  const parsed = AgentPassword.safeParse(password);
  if (!parsed.success) throw new AgentValidationError(`The password must have ${parsed.error.issues[0]?.message ?? 'at least 12 characters'}`);
  return parsed.data;
}

/** A scope as the operator gives it: 'all', or at least one account, each once and in a stable order. */
export function validScope(accounts: AccountScope): AccountScope {
  if (accounts === 'all') return accounts;
  if (!accounts.length) throw new AgentValidationError('An agent needs at least one account, or all accounts');
  return [...new Set(accounts)].sort();
}

/**
 * The scope of each agent row, in one query for any number of agents. Used wherever an agent is read, sign-in and
 * sessions included, so a change of scope applies from the agent's next request.
 */
export async function withScopes<Row extends { id: string; all_accounts: number }>(
  executor: Executor,
  rows: Row[],
): Promise<(Row & { accounts: AccountScope })[]> {
  const limited = rows.filter((row) => Number(row.all_accounts) !== 1).map((row) => row.id);
  const links = limited.length
    ? await executor.selectFrom('console_agent_accounts').select(['agent_id', 'account_id']).where('agent_id', 'in', limited).orderBy('account_id').execute()
    : [];
  return rows.map((row) => ({
    ...row,
    accounts: Number(row.all_accounts) === 1 ? 'all' : links.filter((link) => link.agent_id === row.id).map((link) => link.account_id),
  }));
}

export async function withScope<Row extends { id: string; all_accounts: number }>(executor: Executor, row: Row): Promise<Row & { accounts: AccountScope }> {
  const [scoped] = await withScopes(executor, [row]);
  return scoped!;
}

const VIEW_COLUMNS = ['id', 'email', 'all_accounts', 'created_at', 'disabled_at'] as const;

function toView(row: { id: string; email: string; accounts: AccountScope; created_at: number; disabled_at: number | null }): AgentView {
  return {
    id: row.id,
    email: row.email,
    accounts: row.accounts,
    enabled: row.disabled_at === null,
    createdAt: isoTime(Number(row.created_at)),
    disabledAt: row.disabled_at === null ? null : isoTime(Number(row.disabled_at)),
  };
}

export class AgentStore {
  constructor(private readonly deps: { clock: Clock; random: RandomSource }) {}

  /** The accounts of a limited scope must exist (the caller checks, to name the missing one). */
  async create(executor: Executor, input: { email: string; password: string; accounts: AccountScope }): Promise<Agent> {
    const email = AgentEmail.safeParse(input.email);
    if (!email.success) throw new AgentValidationError(`Not a valid email address: ${input.email}`);
    const accounts = validScope(input.accounts);
    const passwordHash = await hashPassword(validPassword(input.password));
    const id = this.deps.random.uuid();
    try {
      await executor
        .insertInto('console_agents')
        .values({
          id,
          email: email.data,
          password_hash: passwordHash,
          all_accounts: accounts === 'all' ? 1 : 0,
          created_at: this.deps.clock.now(),
          disabled_at: null,
        })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new AgentValidationError(`An agent with the email ${email.data} exists already`);
      throw error;
    }
    await this.linkAccounts(executor, id, accounts);
    return { id, email: email.data, accounts };
  }

  /** Replaces the agent's scope; the agent's sessions see the new one at their next request. */
  async setAccounts(executor: Executor, id: string, scope: AccountScope): Promise<{ agent: AgentView; previous: AccountScope } | null> {
    const before = await this.find(executor, { id });
    if (!before) return null;
    const accounts = validScope(scope);
    await executor
      .updateTable('console_agents')
      .set({ all_accounts: accounts === 'all' ? 1 : 0 })
      .where('id', '=', id)
      .execute();
    await executor.deleteFrom('console_agent_accounts').where('agent_id', '=', id).execute();
    await this.linkAccounts(executor, id, accounts);
    return { agent: { ...before, accounts }, previous: before.accounts };
  }

  /** Every agent, enabled or not, in the order they were created. */
  async list(executor: Executor): Promise<AgentView[]> {
    const rows = await executor.selectFrom('console_agents').select(VIEW_COLUMNS).orderBy('created_at').orderBy('id').execute();
    return (await withScopes(executor, rows)).map(toView);
  }

  /** By id or by email (case-insensitive, as agents sign in), enabled or not. */
  async find(executor: Executor, by: { id: string } | { email: string }): Promise<AgentView | null> {
    const query = executor.selectFrom('console_agents').select(VIEW_COLUMNS);
    const row = await ('id' in by ? query.where('id', '=', by.id) : query.where('email', '=', by.email.trim().toLowerCase())).executeTakeFirst();
    return row ? toView(await withScope(executor, row)) : null;
  }

  /**
   * Disabling also ends the agent's console sessions (they are refused anyway, but need not linger). `changed` is
   * false when the agent was in that state already.
   */
  async setDisabled(executor: Executor, id: string, disabled: boolean): Promise<{ agent: AgentView; changed: boolean } | null> {
    const changed = await setDisabledAt(executor, 'console_agents', id, disabled ? this.deps.clock.now() : null);
    if (disabled && changed) await this.endSessions(executor, id);
    const agent = await this.find(executor, { id });
    return agent ? { agent, changed } : null;
  }

  /** Sets a new password and signs the agent out everywhere: whoever knew the old one loses their session too. */
  async resetPassword(executor: Executor, id: string, password: string): Promise<{ agent: AgentView; sessionsEnded: number } | null> {
    const passwordHash = await hashPassword(validPassword(password));
    const updated = await executor
      .updateTable('console_agents')
      .set({ password_hash: passwordHash })
      .where('id', '=', id)
      .returning(VIEW_COLUMNS)
      .executeTakeFirst();
    if (!updated) return null;
    return { agent: toView(await withScope(executor, updated)), sessionsEnded: await this.endSessions(executor, id) };
  }

  async findByEmail(executor: Executor, email: string): Promise<(Agent & { passwordHash: string }) | null> {
    const row = await executor
      .selectFrom('console_agents')
      .select(['id', 'email', 'all_accounts', 'password_hash'])
      .where('email', '=', email)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const { accounts } = await withScope(executor, row);
    return { id: row.id, email: row.email, accounts, passwordHash: row.password_hash };
  }

  /** The emails of the given agents (enabled or not), by id: who holds a claim, as the queue and case pages show it. */
  async emails(executor: Executor, ids: (string | null)[]): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
    if (!wanted.length) return new Map();
    const rows = await executor.selectFrom('console_agents').select(['id', 'email']).where('id', 'in', wanted).execute();
    return new Map(rows.map((row) => [row.id, row.email]));
  }

  private async linkAccounts(executor: Executor, agentId: string, accounts: AccountScope): Promise<void> {
    if (accounts === 'all') return;
    await executor
      .insertInto('console_agent_accounts')
      .values(accounts.map((accountId) => ({ agent_id: agentId, account_id: accountId })))
      .execute();
  }

  private async endSessions(executor: Executor, agentId: string): Promise<number> {
    const result = await executor.deleteFrom('console_sessions').where('agent_id', '=', agentId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_EMAIL = 5;
export const MAX_FAILURES_PER_SOURCE = 50;

/**
 * Sign-in with lock-out. Failure counters over a sliding window live in the shared rate counters (the database, or
 * Redis with the database as its fallback: shared by every instance, kept across restarts), one per email (by keyed
 * hash, so the table does not list who was targeted) and one per source address. A slot is taken before the password
 * is checked and given back on success or refusal, so concurrent guesses cannot overshoot the bound.
 * Unknown emails cost the same scrypt work as known ones and count the same: the answer reveals nothing.
 */
export class SignIn {
  private readonly window: CounterWindow = { ms: SIGN_IN_WINDOW_MS, purpose: 'guessing' };

  constructor(
    private readonly ctx: {
      store: Pick<Store, 'db'>;
      clock: Clock;
      keyring: Pick<Keyring, 'keyedHash'>;
      audit: Pick<AuditLog, 'append'>;
      rateCounters: RateCounters;
    },
    private readonly agents: AgentStore,
  ) {}

  async authenticate(input: { email: string; password: string }, meta: RequestMeta & { ipAddress: string }): Promise<Agent | null> {
    const email = input.email.trim().toLowerCase();
    const keys = [`console-sign-in:email:${this.ctx.keyring.keyedHash('console-sign-in', email)}`, `console-sign-in:source:${meta.ipAddress}`];
    const now = this.ctx.clock.now();
    await this.takeSlots(keys, now);
    const agent = await this.agents.findByEmail(this.ctx.store.db, email);
    const valid = await verifyPassword(input.password, agent?.passwordHash ?? (await hashOfNoOne()));
    await this.ctx.audit.append(this.ctx.store.db, {
      accountId: null,
      eventType: valid && agent ? 'console.sign_in' : 'console.sign_in_failed',
      message: valid && agent ? 'Agent signed in' : 'Agent sign-in failed',
      traceId: meta.traceId,
      ipAddress: meta.ipAddress,
      data: agent ? { agentId: agent.id } : {},
    });
    if (!valid || !agent) return null;
    await this.ctx.rateCounters.remove(keys, this.window, now);
    return { id: agent.id, email: agent.email, accounts: agent.accounts };
  }

  private async takeSlots(keys: string[], now: number): Promise<void> {
    const limits = [MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_SOURCE];
    const counts = await this.ctx.rateCounters.add(keys, this.window, now);
    if (counts.every((count, index) => count <= limits[index]!)) return;
    await this.ctx.rateCounters.remove(keys, this.window, now);
    throw errors.tooManyRequests(retryAfterSeconds(this.window), 'Too many failed sign-ins; try again later.');
  }
}
