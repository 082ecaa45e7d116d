/** Row types of the console's tables (migrations/003_videoid.ts, 011_agent_accounts.ts), merged into the shared Database interface. */
export interface ConsoleAgentsTable {
  id: string;
  email: string;
  password_hash: string;
  /** 1: the agent reviews every account's cases; 0: only those of its rows in console_agent_accounts. */
  all_accounts: number;
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

export interface ConsoleAgentAccountsTable {
  agent_id: string;
  account_id: string;
}

declare module '../store/schema.js' {
  interface Database {
    console_agents: ConsoleAgentsTable;
    console_agent_accounts: ConsoleAgentAccountsTable;
    console_sessions: ConsoleSessionsTable;
  }
}
