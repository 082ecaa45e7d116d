import type { Keyring } from '../security/keyring.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { Store } from '../store/database.js';
import { safeEqual, sha256Hex } from '../security/keyring.js';
import { withScope, type Agent } from './agents.js';

/**
 * Console sessions, in the database so that every instance knows them. The cookie holds 256 random bits; the table
 * holds only their SHA-256, so a database dump cannot be replayed as a cookie. A session ends after IDLE_MS without
 * a request, after ABSOLUTE_MS in any case (one working day), and at sign-out.
 */
export const IDLE_MS = 30 * 60 * 1000;
export const ABSOLUTE_MS = 12 * 60 * 60 * 1000;
/** Last-seen is written at most this often, so that every page view does not cost a database write. */
const TOUCH_MS = 60 * 1000;

export interface Session {
  id: string;
  agent: Agent;
  csrfToken: string;
}

export class ConsoleSessions {
  constructor(private readonly ctx: { store: Pick<Store, 'db'>; clock: Clock; random: RandomSource; keyring: Pick<Keyring, 'keyedHash'> }) {}

  async create(agent: Agent): Promise<Session> {
    const id = this.ctx.random.bytes(32).toString('base64url');
    const now = this.ctx.clock.now();
    // Lapsed sessions of agents who never came back are cleared here, at the one moment sessions are added.
    await this.ctx.store.db
      .deleteFrom('console_sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - IDLE_MS)]))
      .execute();
    await this.ctx.store.db
      .insertInto('console_sessions')
      .values({ id_hash: sha256Hex(id), agent_id: agent.id, created_at: now, last_seen_at: now, expires_at: now + ABSOLUTE_MS })
      .execute();
    return { id, agent, csrfToken: this.csrfToken(id) };
  }

  /** The live session of a cookie value, or null; a lapsed session is deleted on sight. */
  async resolve(id: string | undefined): Promise<Session | null> {
    if (!id || id.length > 100) return null;
    const db = this.ctx.store.db;
    const row = await db
      .selectFrom('console_sessions as s')
      .innerJoin('console_agents as a', 'a.id', 's.agent_id')
      .select(['s.id_hash', 's.last_seen_at', 's.expires_at', 'a.id', 'a.email', 'a.all_accounts', 'a.disabled_at'])
      .where('s.id_hash', '=', sha256Hex(id))
      .executeTakeFirst();
    if (!row) return null;
    const now = this.ctx.clock.now();
    if (now >= row.expires_at || now >= row.last_seen_at + IDLE_MS || row.disabled_at !== null) {
      await db.deleteFrom('console_sessions').where('id_hash', '=', row.id_hash).execute();
      return null;
    }
    if (now - row.last_seen_at >= TOUCH_MS) await db.updateTable('console_sessions').set({ last_seen_at: now }).where('id_hash', '=', row.id_hash).execute();
    // The scope is read at every request, so that a change of the agent's accounts applies at once.
    const { accounts } = await withScope(db, row);
    return { id, agent: { id: row.id, email: row.email, accounts }, csrfToken: this.csrfToken(id) };
  }

  async destroy(id: string): Promise<void> {
    await this.ctx.store.db.deleteFrom('console_sessions').where('id_hash', '=', sha256Hex(id)).execute();
  }

  /**
   * The synchronizer token of a session, derived from its id with a server key rather than stored: it is fixed for
   * the session's life, and only someone holding both the session id and the server key can produce it.
   */
  csrfToken(sessionId: string): string {
    return this.ctx.keyring.keyedHash('console-csrf', sessionId);
  }

  checkCsrf(session: Session, submitted: unknown): boolean {
    return typeof submitted === 'string' && safeEqual(submitted, session.csrfToken);
  }
}
