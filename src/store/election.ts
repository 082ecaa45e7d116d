import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Election } from './types.js';

/**
 * Leader election on PostgreSQL with a session-level advisory lock, held on a connection of its own (never a pooled
 * one, which would hand the session, and so the lock, to whichever query borrows it next). PostgreSQL releases the
 * lock when that session ends: at once when the holding process dies (its socket closes), and within about 25 s when
 * its host vanishes without closing it (the keepalives set below). Whoever calls `lead()` next takes it over.
 *
 * The lock only keeps one process at the work. Correctness must not rest on it (a holder cut off from the database
 * may still be finishing a transaction on a pooled connection while another takes the lock over), so the work it
 * guards is written to fail rather than conflict (see src/audit/sequencer.ts).
 */
export class AdvisoryLockElection implements Election {
  private client: pg.Client | null = null;
  private leading = false;

  constructor(
    private readonly url: string,
    private readonly role: string,
  ) {}

  async lead(): Promise<boolean> {
    // While our session lives the lock is ours; when it breaks the client is dropped (see connect) and we run again.
    if (this.client && this.leading) return true;
    const client = this.client ?? (await this.connect());
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [lockKey(this.role)]);
    this.leading = rows[0]?.locked === true;
    return this.leading;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.leading = false;
    // Ending the session releases the lock.
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 5000,
      query_timeout: 15000,
      keepAlive: true,
      // Names the holder in pg_stat_activity, so that an operator (and the fault test) can tell which process leads.
      application_name: `reuseid ${this.role} ${process.pid}`,
    });
    const lost = () => {
      if (this.client === client) {
        this.client = null;
        this.leading = false;
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      // The server side of the keepalives: a holder whose host vanished loses the lock in 10 + 3 × 5 s.
      await client.query(
        "select set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false), set_config('tcp_keepalives_count', '3', false)",
      );
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return client;
  }
}

/** The role's 64-bit advisory lock key, from its name (stable across PostgreSQL versions, unlike hashtext). */
function lockKey(role: string): string {
  return createHash('sha256').update(`reuseid:${role}`).digest().readBigInt64BE(0).toString();
}

/** SQLite: one server process serves the database (it holds the server lock), so it always leads. */
export const soleProcessElection: Election = { lead: async () => true, close: async () => undefined };
