import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMasterKey } from '../../src/security/keyring.js';
import { migrateToLatest, openStore } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';
import { BIN, cliJson, freePort, startServerProcess, type ServerProcess } from '../support/server-process.js';

const run = promisify(execFile);
const MASTER_KEY = Buffer.alloc(32, 5).toString('base64');
const modeOf = (path: string) => statSync(path).mode & 0o777;

/** `reuseid serve` expected to refuse to start: its exit code and what it printed. */
async function refusedServe(env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const port = await freePort();
  return run('node', [BIN, 'serve'], { env: { ...env, PORT: String(port), REUSEID_PUBLIC_URL: `http://127.0.0.1:${port}` }, timeout: 30_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  );
}

describe('one server per SQLite database', () => {
  let dir: string;
  const servers: ServerProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reuseid-lock-'));
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second server on the same file with a clear message, while CLI commands still work', async () => {
    const database = join(dir, 'shared', 'reuseid.db');
    const env = { REUSEID_DATABASE_URL: `sqlite:${database}`, REUSEID_MASTER_KEY: MASTER_KEY, REUSEID_SANDBOX: 'true' };
    const first = await startServerProcess(env);
    servers.push(first);

    const second = await refusedServe({ ...process.env, ...env });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`Another reuseid server is already running on the SQLite database ${database}`);

    const client = await cliJson(first.env, 'clients', 'create', '--name', 'beside the server', '--permission', 'reuseid-onboarding');
    const token = await fetch(`${first.baseUrl}/auth/open/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
    });
    expect(token.status).toBe(200);
  });

  it('takes the database over from a server that crashed: the lock dies with its process', async () => {
    const database = join(dir, 'crash', 'reuseid.db');
    const env = { REUSEID_DATABASE_URL: `sqlite:${database}`, REUSEID_MASTER_KEY: MASTER_KEY };
    const crashed = await startServerProcess(env);
    servers.push(crashed);
    const pid = Number(/"pid":(\d+)/.exec(crashed.output())?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    while (
      await fetch(`${crashed.baseUrl}/healthz`).then(
        () => true,
        () => false,
      )
    )
      await new Promise((resolve) => setTimeout(resolve, 50));
    servers.splice(servers.indexOf(crashed), 1); // gone: nothing to stop

    const next = await startServerProcess(env);
    servers.push(next);
    expect((await fetch(`${next.baseUrl}/readyz`)).status).toBe(200);
  });

  it('locks only stores opened exclusively, and releases the lock on close', async () => {
    const url = `sqlite:${join(dir, 'in-process', 'reuseid.db')}`;
    const serving = openStore(url, { exclusive: true });
    await migrateToLatest(serving.db);
    expect(() => openStore(url, { exclusive: true })).toThrow(/Another reuseid server is already running/);
    const command = openStore(url);
    await migrateToLatest(command.db);
    await command.close();
    await serving.close();
    const again = openStore(url, { exclusive: true });
    await again.close();
  });
});

describe("SQLite files are the owner's only", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reuseid-modes-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the data folder 0700 and the database, its WAL files, its lock and master.key 0600', async () => {
    const folder = join(dir, 'data', 'nested');
    const database = join(folder, 'reuseid.db');
    const store = openStore(`sqlite:${database}`, { exclusive: true });
    try {
      await migrateToLatest(store.db);
      loadMasterKey({ databaseUrl: `sqlite:${database}` });
      expect(modeOf(join(dir, 'data')).toString(8)).toBe('700');
      expect(modeOf(folder).toString(8)).toBe('700');
      for (const file of ['reuseid.db', 'reuseid.db-wal', 'reuseid.db-shm', 'reuseid.db.lock', 'master.key']) {
        expect(existsSync(join(folder, file)), file).toBe(true);
        expect(modeOf(join(folder, file)).toString(8), file).toBe('600');
      }
    } finally {
      await store.close();
    }
  });
});

for (const database of testDatabases.filter((d) => d.name === 'postgres')) {
  describe('several servers on one PostgreSQL database', () => {
    it("starts them all: the server lock is SQLite's only", async () => {
      const { url, drop } = await database.create();
      const env = { REUSEID_DATABASE_URL: url, REUSEID_MASTER_KEY: MASTER_KEY };
      const started: ServerProcess[] = [];
      try {
        started.push(await startServerProcess(env));
        started.push(await startServerProcess(env));
        for (const server of started) expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
      } finally {
        for (const server of started) await server.stop();
        await drop();
      }
    });
  });
}
