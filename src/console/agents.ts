import { z } from 'zod';
import type { AppContext } from '../context.js';
import type { RequestMeta } from '../http/request-meta.js';
import { errors } from '../http/errors.js';
import { WindowCounters } from '../security/counters.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { Executor } from '../store/database.js';
import { isUniqueViolation } from '../store/database.js';
import { hashOfNoOne, hashPassword, verifyPassword } from './passwords.js';

/** Agents review VideoID captures in the console. They are staff of the operator, not API clients. */
export interface Agent {
  id: string;
  email: string;
}

export const AgentEmail = z.string().trim().toLowerCase().max(254).pipe(z.email());
/** Length is what makes a password strong; 12 characters is the floor for staff handling identity documents. */
export const AgentPassword = z.string().min(12, 'at least 12 characters').max(256);

export class AgentStore {
  constructor(private readonly deps: { clock: Clock; random: RandomSource }) {}

  async create(executor: Executor, input: { email: string; password: string }): Promise<Agent> {
    const email = AgentEmail.safeParse(input.email);
    if (!email.success) throw new Error(`Not a valid email address: ${input.email}`);
    const password = AgentPassword.safeParse(input.password);
    if (!password.success) throw new Error(`The password must have ${password.error.issues[0]?.message ?? 'at least 12 characters'}`);
    const passwordHash = await hashPassword(password.data);
    const id = this.deps.random.uuid();
    try {
      await executor.insertInto('console_agents').values({ id, email: email.data, password_hash: passwordHash, created_at: this.deps.clock.now(), disabled_at: null }).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new Error(`An agent with the email ${email.data} exists already`);
      throw error;
    }
    return { id, email: email.data };
  }

  async findActive(executor: Executor, id: string): Promise<Agent | null> {
    const row = await executor.selectFrom('console_agents').select(['id', 'email']).where('id', '=', id).where('disabled_at', 'is', null).executeTakeFirst();
    return row ?? null;
  }

  async findByEmail(executor: Executor, email: string): Promise<(Agent & { passwordHash: string }) | null> {
    const row = await executor.selectFrom('console_agents').select(['id', 'email', 'password_hash']).where('email', '=', email).where('disabled_at', 'is', null).executeTakeFirst();
    return row ? { id: row.id, email: row.email, passwordHash: row.password_hash } : null;
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

  constructor(private readonly ctx: AppContext, private readonly agents: AgentStore) {}

  async authenticate(input: { email: string; password: string }, meta: RequestMeta & { ipAddress: string }): Promise<Agent | null> {
    const email = input.email.trim().toLowerCase();
    const keys = [`console-sign-in:email:${this.ctx.keyring.keyedHash('console-sign-in', email)}`, `console-sign-in:source:${meta.ipAddress}`];
    const now = this.ctx.clock.now();
    await this.takeSlots(keys, now);
    const agent = await this.agents.findByEmail(this.ctx.store.db, email);
    const valid = await verifyPassword(input.password, agent?.passwordHash ?? (await hashOfNoOne()));
    await this.ctx.audit.append(this.ctx.store.db, {
      accountId: null, eventType: valid && agent ? 'console.sign_in' : 'console.sign_in_failed', message: valid && agent ? 'Agent signed in' : 'Agent sign-in failed',
      traceId: meta.traceId, ipAddress: meta.ipAddress, data: agent ? { agentId: agent.id } : {},
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
