import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../bench/processes.js';

/**
 * A throwaway PostgreSQL 15 cluster of the fault suite's own, in a temporary directory on a free loopback port, so
 * that stopping and restarting it disturbs nobody else's tests. PostgreSQL refuses to run as root: as root the
 * binaries run as the `postgres` OS user.
 */
const BIN_DIR = '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

export interface PostgresCluster {
  /** URL of the cluster's `postgres` database as superuser (trust authentication on loopback). */
  adminUrl: string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster and deletes its files. */
  destroy(): Promise<void>;
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  if (!existsSync(join(BIN_DIR, 'initdb')) || !existsSync(join(BIN_DIR, 'pg_ctl'))) {
    throw new Error(`The fault suite needs PostgreSQL 15 server binaries in ${BIN_DIR} (Debian package postgresql-15) to run a throwaway cluster of its own.`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'reuseid-faults-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, ...(await postgresIds()));
  const pgTool = (tool: string, ...args: string[]) =>
    run(asRoot ? 'runuser' : join(BIN_DIR, tool), asRoot ? ['-u', 'postgres', '--', join(BIN_DIR, tool), ...args] : args, { timeout: 60_000 });
  const data = join(dir, 'data');
  const port = await freePort();
  // fsync off: a throwaway cluster; a clean stop still checkpoints, so a restart loses nothing.
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  let running = false;
  const cluster: PostgresCluster = {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: cluster.adminUrl });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`).finally(() => client.end());
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async start() {
      await pgTool('pg_ctl', '-D', data, '-l', join(dir, 'server.log'), '-o', serverOptions, '-w', '-t', '30', 'start');
      running = true;
    },
    async stop() {
      // Fast: open sessions are cut off, as when an operator restarts the database under load.
      await pgTool('pg_ctl', '-D', data, '-m', 'fast', '-w', '-t', '30', 'stop');
      running = false;
    },
    async destroy() {
      if (running) await cluster.stop().catch(() => pgTool('pg_ctl', '-D', data, '-m', 'immediate', 'stop'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await pgTool('initdb', '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync');
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}

async function postgresIds(): Promise<[number, number]> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return [Number(uid.stdout), Number(gid.stdout)];
}
