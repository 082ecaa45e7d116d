import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestDatabase } from '../support/databases.js';
import { BIN } from '../support/server-process.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `reuseid` (npm run build) and returns what it printed and its exit code, whatever that is. */
export function runReuseid(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile('node', [BIN, ...args], { env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `reuseid ARGS… --json`, expects success, and parses what it printed. */
export async function reuseidJson<T = Record<string, any>>(env: NodeJS.ProcessEnv, ...args: string[]): Promise<T> {
  const run = await runReuseid(env, ...args, '--json');
  if (run.code !== 0) throw new Error(`reuseid ${args.join(' ')} exited ${run.code}:\n${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

export interface CliDatabase {
  url: string;
  /** The environment the CLI runs with; PostgreSQL needs the master key in it, SQLite keeps a key file beside the database. */
  env: NodeJS.ProcessEnv;
  drop(): Promise<void>;
}

/** A fresh, empty database the CLI can open by URL: a SQLite file in a temporary folder, or a new PostgreSQL database. */
export async function cliDatabase(database: TestDatabase): Promise<CliDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'reuseid-cli-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  if (database.name === 'sqlite') {
    return { url: `sqlite:${join(dir, 'reuseid.db')}`, env: { ...process.env }, drop: async () => cleanup() };
  }
  const created = await database.create();
  return {
    url: created.url,
    env: { ...process.env, REUSEID_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') },
    drop: async () => {
      await created.drop();
      cleanup();
    },
  };
}
