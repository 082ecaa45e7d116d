/** Row types of the console's tables (migrations/003_videoid.ts), merged into the shared Database interface. */
export interface ConsoleAgentsTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: number;
  disabled_at: number | null;
}

export interface ConsoleSessionsTable {
  /** SHA-256 of the session id: the cookie value itself is never stored. */
  id_hash: string;
  agent_id: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute expiry; the idle expiry is last_seen_at + IDLE_MS. */
  expires_at: number;
}

declare module '../store/schema.js' {
  interface Database {
    console_agents: ConsoleAgentsTable;
    console_sessions: ConsoleSessionsTable;
  }
}
