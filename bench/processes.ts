import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { ClientStore, type CreatedClient } from '../src/oauth/clients.js';
import { systemClock } from '../src/shared/runtime.js';
import { migrateToLatest, openStore } from '../src/store/database.js';

/** Child processes for benchmarks: each server runs in its own process so its memory and CPU are its own. */
export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** The last lines the process printed. */
  logTail(): string;
  /** Peak resident set size of the process so far, in MB (Linux VmHWM). */
  peakRssMb(): number;
  /** Resident set size now, in MB (Linux VmRSS). */
  rssMb(): number;
  /** CPU time the process has used so far (user and system), in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startProcess(args: string[], env: NodeJS.ProcessEnv, readyPath: string, port: number): Promise<ServerProcess> {
  const child = spawn('node', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const recent: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // The last lines the server logged, to explain a failure (its JSON logs go to stdout).
  child.stdout!.on('data', (chunk: Buffer) => {
    recent.push(...chunk.toString().split('\n').filter(Boolean));
    recent.splice(0, Math.max(0, recent.length - 100));
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`process exited early: ${stderr}`);
    if (
      await fetch(`${url}${readyPath}`).then(
        (r) => r.status < 500,
        () => false,
      )
    )
      break;
    if (i === 200) throw new Error(`process did not answer ${readyPath} within 20 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    peakRssMb: () => procStatusMb(child.pid!, 'VmHWM'),
    rssMb: () => procStatusMb(child.pid!, 'VmRSS'),
    cpuMs: () => processCpuMs(child.pid!),
    logTail: () => [...recent, stderr].join('\n'),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function procStatusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** utime + stime of /proc/PID/stat (fields 14 and 15, in clock ticks of 10 ms), in ms; with `reaped`, also what its
 * children that have exited used (cutime + cstime, fields 16 and 17). */
function processCpuMs(pid: number, reaped = false): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks * 10;
}

/**
 * CPU time used so far by the PostgreSQL processes on this machine, in ms; 0 when none runs here. The backends that
 * have exited (a pool closing an idle connection) count through the postmaster, which reaps them: without that the
 * total fell whenever one exited. Only meaningful for a database on this machine that nothing else is using.
 */
export function localPostgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('postgres')) total += processCpuMs(Number(entry), true);
    } catch {
      // The process ended while being read.
    }
  }
  return total;
}

/** An API client created directly in the database (migrating it first), as `reuseid clients create` does. */
export async function createClient(databaseUrl: string, input: { name: string; accountId?: string; permissions: string[] }): Promise<CreatedClient> {
  const store = openStore(databaseUrl);
  try {
    await migrateToLatest(store.db);
    return await new ClientStore({ clock: systemClock }).create(store.db, { ...input, tokenTtlSeconds: 3600 });
  } finally {
    await store.close();
  }
}
