import { z } from 'zod';
import type { AuditLog } from '../audit/log.js';
import type { Keyring } from '../security/keyring.js';
import type { Store } from '../store/database.js';
import type { RequestMeta } from '../http/request-meta.js';
import { errors } from '../shared/errors.js';
import { WindowCounters } from '../security/counters.js';
import { isoTime, type Clock, type RandomSource } from '../shared/runtime.js';
import type { Executor } from '../store/database.js';
import { isUniqueViolation } from '../store/database.js';
import { setDisabledAt } from '../store/disabling.js';
import { hashOfNoOne, hashPassword, verifyPassword } from './passwords.js';

/** Agents review VideoID captures in the console. They are staff of the operator, not API clients. */
export interface Agent {
  id: string;
  email: string;
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

function toView(row: { id: string; email: string; created_at: number; disabled_at: number | null }): AgentView {
  return {
    id: row.id,
    email: row.email,
    enabled: row.disabled_at === null,
    createdAt: isoTime(Number(row.created_at)),
    disabledAt: row.disabled_at === null ? null : isoTime(Number(row.disabled_at)),
  };
}

export class AgentStore {
  constructor(private readonly deps: { clock: Clock; random: RandomSource }) {}

  async create(executor: Executor, input: { email: string; password: string }): Promise<Agent> {
    const email = AgentEmail.safeParse(input.email);
    if (!email.success) throw new AgentValidationError(`Not a valid email address: ${input.email}`);
    const passwordHash = await hashPassword(validPassword(input.password));
    const id = this.deps.random.uuid();
    try {
      await executor
        .insertInto('console_agents')
        .values({ id, email: email.data, password_hash: passwordHash, created_at: this.deps.clock.now(), disabled_at: null })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new AgentValidationError(`An agent with the email ${email.data} exists already`);
      throw error;
    }
    return { id, email: email.data };
  }

  /** Every agent, enabled or not, in the order they were created. */
  async list(executor: Executor): Promise<AgentView[]> {
    const rows = await executor.selectFrom('console_agents').select(['id', 'email', 'created_at', 'disabled_at']).orderBy('created_at').orderBy('id').execute();
    return rows.map(toView);
  }

  /** By id or by email (case-insensitive, as agents sign in), enabled or not. */
  async find(executor: Executor, by: { id: string } | { email: string }): Promise<AgentView | null> {
    const query = executor.selectFrom('console_agents').select(['id', 'email', 'created_at', 'disabled_at']);
    const row = await ('id' in by ? query.where('id', '=', by.id) : query.where('email', '=', by.email.trim().toLowerCase())).executeTakeFirst();
    return row ? toView(row) : null;
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
      .returning(['id', 'email', 'created_at', 'disabled_at'])
      .executeTakeFirst();
    if (!updated) return null;
    return { agent: toView(updated), sessionsEnded: await this.endSessions(executor, id) };
  }

  async findActive(executor: Executor, id: string): Promise<Agent | null> {
    const row = await executor.selectFrom('console_agents').select(['id', 'email']).where('id', '=', id).where('disabled_at', 'is', null).executeTakeFirst();
    return row ?? null;
  }

  async findByEmail(executor: Executor, email: string): Promise<(Agent & { passwordHash: string }) | null> {
    const row = await executor
      .selectFrom('console_agents')
      .select(['id', 'email', 'password_hash'])
      .where('email', '=', email)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    return row ? { id: row.id, email: row.email, passwordHash: row.password_hash } : null;
  }

  /** The emails of the given agents (enabled or not), by id: who holds a claim, as the queue and case pages show it. */
  async emails(executor: Executor, ids: (string | null)[]): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
    if (!wanted.length) return new Map();
    const rows = await executor.selectFrom('console_agents').select(['id', 'email']).where('id', 'in', wanted).execute();
    return new Map(rows.map((row) => [row.id, row.email]));
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
 * Sign-in with lock-out. Failure counters live in the database (shared by every instance, kept across restarts),
 * one per email (by keyed hash, so the table does not list who was targeted) and one per source address. A slot is
 * taken before the password is checked and given back on success, so concurrent guesses cannot overshoot the bound.
 * Unknown emails cost the same scrypt work as known ones and count the same: the answer reveals nothing.
 */
export class SignIn {
  private readonly counters = new WindowCounters(SIGN_IN_WINDOW_MS);

  constructor(
    private readonly ctx: { store: Pick<Store, 'db'>; clock: Clock; keyring: Pick<Keyring, 'keyedHash'>; audit: Pick<AuditLog, 'append'> },
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
    for (const key of keys) await this.counters.decrement(this.ctx.store.db, key, now);
    return { id: agent.id, email: agent.email };
  }

  private async takeSlots(keys: string[], now: number): Promise<void> {
    const limits = [MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_SOURCE];
    for (const [index, key] of keys.entries()) {
      if ((await this.counters.increment(this.ctx.store.db, key, now)) > limits[index]!) {
        throw errors.tooManyRequests(this.counters.retryAfterSeconds(now), 'Too many failed sign-ins; try again later.');
      }
    }
  }
}
