import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestDatabase } from './databases.js';
import { fileBacked } from './file-database.js';

/** The compiled CLI (`npm run build`), run as separate processes the way operators and devices run it. */
export const BIN = join(import.meta.dirname, '../../bin/reuseid.js');
const run = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs `reuseid ARGS… --json` and parses what it prints. */
export async function cliJson(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Record<string, any>> {
  let stdout: string;
  try {
    ({ stdout } = await run('node', [BIN, ...args, '--json'], { env }));
  } catch (error) {
    // The command's own JSON error is on stdout: put it in the message, where a failing test shows it.
    const printed = (error as { stdout?: string }).stdout ?? '';
    throw Object.assign(new Error(`reuseid ${args.slice(0, 2).join(' ')} failed: ${printed.slice(0, 2000)}`, { cause: error }), { stdout: printed });
  }
  return JSON.parse(stdout) as Record<string, any>;
}

export interface ServerProcess {
  baseUrl: string;
  env: NodeJS.ProcessEnv;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `reuseid serve` on a free port with `env` added, and waits for /readyz. */
export async function startServerProcess(extraEnv: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', REUSEID_PUBLIC_URL: baseUrl, REUSEID_LOG_LEVEL: 'info', ...extraEnv };
  const server: ChildProcess = spawn('node', [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (server.exitCode !== null) return server.exitCode;
    server.kill('SIGTERM');
    return new Promise<number | null>((resolve) => server.once('exit', resolve));
  };
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${baseUrl}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return { baseUrl, env, output: () => output, stop };
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`server did not become ready:\n${output}`);
}

export interface ServerOnDatabase extends ServerProcess {
  /** Stops the server if it still runs, then drops its database. */
  close(): Promise<void>;
}

/** Starts `reuseid serve` (as startServerProcess) on a fresh database of its own: a file for SQLite, as it is another process. */
export async function startServerOn(database: TestDatabase, extraEnv: NodeJS.ProcessEnv): Promise<ServerOnDatabase> {
  const created = await fileBacked(database).create();
  try {
    const server = await startServerProcess({ REUSEID_DATABASE_URL: created.url, ...extraEnv });
    const close = async () => {
      await server.stop();
      await created.drop();
    };
    return { ...server, close };
  } catch (error) {
    await created.drop();
    throw error;
  }
}
