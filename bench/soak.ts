/**
 * Soak: full onboardings for N minutes, reporting every 10 s (throughput, errors by kind, p50/p99 latency of requests
 * and of whole onboardings, the server's RSS) and a summary at the end. Without --url it starts its own server
 * process on a temporary SQLite database in sandbox mode; with --url it drives that server (sandbox mode required)
 * with the given client, or several instances of one deployment round-robin (comma-separated URLs, --public-url
 * naming their REUSEID_PUBLIC_URL). Stops by itself after N minutes (onboardings in flight finish, each request
 * bounded).
 *
 *   npm run soak -- --minutes 5 [--concurrency 8] [--json]
 *   npm run soak -- --minutes 5 --url https://reuseid.example --client-id rid-… --client-secret rsec_…
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { runOnboardings, type LoadWindow, type RpCredentials } from './onboarding-load.js';
import { createClient, freePort, startProcess, type ServerProcess } from './processes.js';

const BIN = join(import.meta.dirname, '../bin/reuseid.js');
const REPORT_EVERY_MS = 10_000;

interface SoakOptions {
  minutes: number;
  concurrency: number;
  url?: string;
  publicUrl?: string;
  clientId?: string;
  clientSecret?: string;
  json?: boolean;
}

interface Target {
  urls: string[];
  publicUrl: string;
  client: RpCredentials;
  server?: ServerProcess;
  cleanup(): Promise<void>;
}

const program = new Command('soak')
  .description('Full onboardings (RP + device) for N minutes against a ReuseID server')
  .requiredOption('--minutes <n>', 'how long to run (at most 1440)', bounded(1 / 60, 1440))
  .option('--concurrency <n>', 'onboardings in flight at once', bounded(1, 1000), 8)
  .option('--url <url[,url…]>', 'a running server in sandbox mode, or its instances (default: start one on a temporary SQLite database)')
  .option('--public-url <url>', "the instances' REUSEID_PUBLIC_URL, with several --url (default: the first URL)")
  .option('--client-id <id>', 'API client with reuseid-onboarding, with --url')
  .option('--client-secret <secret>', 'its secret, with --url')
  .option('--json', 'print one JSON object (progress goes to stderr)')
  .action(soak);

async function soak(options: SoakOptions): Promise<void> {
  const target = await openTarget(options);
  const say = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  try {
    say(
      `soak: ${options.minutes} min, concurrency ${options.concurrency}, against ${target.urls.join(', ')}${target.server ? ` (own server, pid ${target.server.child.pid})` : ''}`,
    );
    const run = runOnboardings({
      urls: target.urls,
      publicUrl: target.publicUrl,
      client: target.client,
      concurrency: options.concurrency,
      durationMs: options.minutes * 60_000,
    });
    const windows: Array<LoadWindow & { rssMb?: number }> = [];
    const reporter = setInterval(() => {
      const window = { ...run.stats.takeWindow(), ...rss(target) };
      windows.push(window);
      say(describe(`${Math.round(windows.reduce((sum, w) => sum + w.seconds, 0))}s`, window));
    }, REPORT_EVERY_MS);
    const stats = await run.done.finally(() => clearInterval(reporter));
    const summary = { ...stats.summary(), ...rss(target), ...(target.server ? { peakRssMb: target.server.peakRssMb() } : {}) };
    if (options.json) console.log(JSON.stringify({ urls: target.urls, minutes: options.minutes, concurrency: options.concurrency, summary, windows }));
    else say(describe('total', summary));
  } finally {
    await target.cleanup();
  }
}

async function openTarget(options: SoakOptions): Promise<Target> {
  if (options.url) {
    if (!options.clientId || !options.clientSecret) return program.error('error: --url needs --client-id and --client-secret');
    const urls = options.url.split(',').map((url) => url.trim().replace(/\/+$/, ''));
    const publicUrl = (options.publicUrl ?? urls[0]!).replace(/\/+$/, '');
    return { urls, publicUrl, client: { clientId: options.clientId, clientSecret: options.clientSecret }, cleanup: async () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), 'reuseid-soak-'));
  const databaseUrl = `sqlite:${join(dir, 'reuseid.db')}`;
  const client = await createClient(databaseUrl, { name: 'soak', permissions: ['reuseid-onboarding'] });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startProcess(
    [BIN, 'serve'],
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      REUSEID_DATABASE_URL: databaseUrl,
      REUSEID_PUBLIC_URL: url,
      REUSEID_SANDBOX: 'true',
      REUSEID_MASTER_KEY: randomBytes(32).toString('base64'),
      REUSEID_LOG_LEVEL: 'warn',
      // Every simulated device comes from 127.0.0.1: the per-source activation limit would measure itself, not the server.
      REUSEID_RATE_LIMIT_ACTIVATION_PER_SOURCE: '1000000',
    },
    '/readyz',
    port,
  );
  return {
    urls: [url],
    publicUrl: url,
    client,
    server,
    cleanup: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const rss = (target: Target) => (target.server ? { rssMb: target.server.rssMb() } : {});

function describe(label: string, w: LoadWindow & { rssMb?: number; peakRssMb?: number }): string {
  const errors =
    Object.entries(w.errors)
      .map(([kind, count]) => `${kind} ×${count}`)
      .join(', ') || 'none';
  const memory = w.rssMb === undefined ? '' : ` | server RSS ${w.rssMb} MB${w.peakRssMb === undefined ? '' : ` (peak ${w.peakRssMb} MB)`}`;
  return (
    `[${label.padStart(6)}] ${w.onboardingsPerSecond} onboardings/s (${w.completed} done, ${w.failed} failed) | errors: ${errors}` +
    ` | request p50 ${w.requestP50Ms} ms p99 ${w.requestP99Ms} ms | onboarding p50 ${w.onboardingP50Ms} ms p99 ${w.onboardingP99Ms} ms${memory}`
  );
}

function bounded(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    return n;
  };
}

await program.parseAsync(process.argv);
