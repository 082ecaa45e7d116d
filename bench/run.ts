/**
 * `npm run bench [-- --json] [--seconds N] [--rounds N] [--connections N] [--large N] [--database postgres://…]`
 *
 * Measures, side by side in one run on loopback, each against its reference:
 * - startOnboarding / getOnboarding: the real server vs the driver-level floor, a bare Fastify route doing the same
 *   token verification and the same inserts or select with the driver's prepared statements (bench/baseline-server.ts);
 * - oneVsManyAccounts: startOnboarding from one account vs the same load spread over eight accounts;
 * - token: our client-credentials endpoint vs node-oidc-provider issuing the same ES256 JWT access tokens, with the CPU
 *   each process spent per token and, with --database on this machine, what its PostgreSQL spent;
 * - growth: getOnboarding latency with 10,000 and with 1,000,000 stored transactions;
 * - rssMb: the server's peak resident memory under all of that.
 * Each side of a comparison is warmed up (unmeasured) before either is measured, then the two sides are measured in
 * alternating rounds. Every figure carries its p99.
 * With --database, the URL's role must be able to create databases: the run creates one of its own on that server and
 * drops it at the end.
 * Benchmarks print; they never fail on numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createScratchDatabase } from '../src/testing/databases/postgres.js';
import { fillTransactions } from './fill.js';
import { load, sequentialP50Ms, type LoadResult } from './load.js';
import { createClient, freePort, localPostgresCpuMs, startProcess, type ServerProcess } from './processes.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '10' },
    small: { type: 'string', default: '10000' },
    large: { type: 'string', default: '1000000' },
    database: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const WARMUP_SECONDS = 2;
const connections = Number(args.connections);
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);
const BIN = join(import.meta.dirname, '../bin/reuseid.js');
const TSX = ['--import', 'tsx'];

const dir = mkdtempSync(join(tmpdir(), 'reuseid-bench-'));
// On PostgreSQL, a database of the run's own on that server, dropped at the end: what an earlier run left in a shared
// one (a million filled transactions, long ended) kept the next run's server busy purging it under the retention
// policy, and that background work fell on every figure.
const scratch = args.database ? await createScratchDatabase(args.database, 'reuseid_bench') : undefined;
const databaseUrl = (name: string) => scratch?.url ?? `sqlite:${join(dir, `${name}.db`)}`;
const processes: ServerProcess[] = [];
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)
  process.once(signal, () => void cleanUp().finally(() => process.exit(code)));

try {
  const serverDb = databaseUrl('server');
  const client = await createClient(serverDb, { name: 'bench', permissions: ['reuseid-onboarding'] });
  // The same load spread over eight accounts: what one busy account loses to per-account serialisation.
  const manyClients = [];
  for (let i = 1; i <= 8; i++)
    manyClients.push(await createClient(serverDb, { name: `bench-${i}`, accountId: `bench-${i}`, permissions: ['reuseid-onboarding'] }));
  const port = await freePort();
  const server = await startProcess(
    [BIN, 'serve'],
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      REUSEID_DATABASE_URL: serverDb,
      REUSEID_PUBLIC_URL: `http://127.0.0.1:${port}`,
      REUSEID_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
      REUSEID_LOG_LEVEL: 'warn',
      // One client from one address makes every request: lift the limits so they are counted but never refuse.
      REUSEID_RATE_LIMIT_TOKEN_PER_CLIENT: '1000000000',
      REUSEID_RATE_LIMIT_TOKEN_PER_SOURCE: '1000000000',
    },
    '/readyz',
    port,
  );
  processes.push(server);
  const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
  const token = await issueToken(server.url, basic);

  const baselinePort = await freePort();
  const baseline = await startProcess(
    [...TSX, join(import.meta.dirname, 'baseline-server.ts')],
    {
      PORT: String(baselinePort),
      BENCH_ISSUER: server.url,
      BENCH_ACCOUNTS: 'default',
      REUSEID_DATABASE_URL: args.database ? serverDb : databaseUrl('baseline'),
    },
    '/healthz',
    baselinePort,
  );
  processes.push(baseline);

  const peerPort = await freePort();
  const peer = await startProcess(
    [...TSX, join(import.meta.dirname, 'oidc-peer.ts')],
    { PORT: String(peerPort) },
    '/.well-known/openid-configuration',
    peerPort,
  );
  processes.push(peer);

  const json = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  log(`${rounds} rounds of ${seconds} s per side, ${connections} connections, database ${args.database ? 'postgres' : 'sqlite'}`);

  const startOnboarding = await sideBySide(
    'startOnboarding',
    (seconds) => load({ url: `${server.url}/reuseid/onboarding`, method: 'POST', headers: json, body: '{}', seconds, connections }),
    (seconds) => load({ url: `${baseline.url}/reuseid/onboarding`, method: 'POST', headers: json, body: '{}', seconds, connections }),
  );

  const manyTokens: string[] = [];
  for (const c of manyClients) manyTokens.push(await issueToken(server.url, `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`));
  // One account against the same load spread over eight, in turns like the other comparisons.
  const [oneAccount, overEight, oneVsEightRounds] = await warmThenMeasure(
    (seconds) => load({ url: `${server.url}/reuseid/onboarding`, method: 'POST', headers: json, body: '{}', seconds, connections }),
    (seconds) =>
      load({
        url: `${server.url}/reuseid/onboarding`,
        method: 'POST',
        body: '{}',
        rotateHeaders: manyTokens.map((t) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' })),
        seconds,
        connections,
      }),
  );
  checkClean('startOnboarding over 8 accounts', overEight);
  const oneVsManyAccounts = {
    oneAccountRps: oneAccount.rps,
    eightAccountsRps: overEight.rps,
    ratio: round(oneAccount.rps / overEight.rps),
    roundRatios: oneVsEightRounds,
  };
  log(
    `one vs 8 accounts one ${oneAccount.rps} rps   eight ${overEight.rps} rps (p99 ${overEight.p99Ms} ms)   ratio ${oneVsManyAccounts.ratio} (rounds ${oneVsEightRounds.join(', ')})`,
  );

  const ours = await created(server.url, json);
  const theirs = await created(baseline.url, json);
  const getOnboarding = await sideBySide(
    'getOnboarding',
    (seconds) => load({ url: `${server.url}/reuseid/onboarding/${ours}`, headers: json, seconds, connections }),
    (seconds) => load({ url: `${baseline.url}/reuseid/onboarding/${theirs}`, headers: json, seconds, connections }),
  );

  const tokenBody = 'grant_type=client_credentials';
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  // CPU per token of each side, and of the local PostgreSQL during our side's runs (the peer writes nothing): the
  // ratio alone cannot say whether a gap is the server's or the database's when both share the machine's cores.
  const ourCpu = cpuPerRequest(server, Boolean(args.database));
  const peerCpu = cpuPerRequest(peer, false);
  const [ourToken, peerToken, tokenRounds] = await warmThenMeasure(
    ourCpu.counting((seconds) =>
      load({ url: `${server.url}/auth/open/connect/token`, method: 'POST', headers: { ...form, authorization: basic }, body: tokenBody, seconds, connections }),
    ),
    peerCpu.counting((seconds) =>
      load({
        url: `${peer.url}/token`,
        method: 'POST',
        headers: { ...form, authorization: `Basic ${Buffer.from('bench-client:bench-secret').toString('base64')}` },
        body: tokenBody,
        seconds,
        connections,
      }),
    ),
  );
  checkClean('token', ourToken);
  checkClean('token (oidc-provider)', peerToken);
  const tokenResult = {
    rps: ourToken.rps,
    p99Ms: ourToken.p99Ms,
    peerRps: peerToken.rps,
    peerP99Ms: peerToken.p99Ms,
    ratio: round(ourToken.rps / peerToken.rps),
    roundRatios: tokenRounds,
    cpuUsPerToken: { server: ourCpu.processUs(), postgres: ourCpu.postgresUs(), peer: peerCpu.processUs() },
  };
  log(
    `token            ours ${ourToken.rps} rps (p99 ${ourToken.p99Ms} ms)   oidc-provider ${peerToken.rps} rps (p99 ${peerToken.p99Ms} ms)   ratio ${tokenResult.ratio} (rounds ${tokenRounds.join(', ')})`,
  );
  log(
    `  CPU per token  server ${tokenResult.cpuUsPerToken.server} µs${tokenResult.cpuUsPerToken.postgres === null ? '' : `, local PostgreSQL ${tokenResult.cpuUsPerToken.postgres} µs`}   oidc-provider ${tokenResult.cpuUsPerToken.peer} µs`,
  );

  const growth = await measureGrowth(serverDb, server.url, json, ours);
  const database = args.database ? 'postgres' : 'sqlite';
  const result = { database, startOnboarding, getOnboarding, oneVsManyAccounts, token: tokenResult, growth, rssMb: server.peakRssMb() };
  log(`rss              peak ${result.rssMb} MB (server process)`);
  if (args.json) console.log(JSON.stringify(result));
} finally {
  await cleanUp();
}

/** The child processes, the temporary folder and the scratch database go, at the end or when the run is interrupted. */
async function cleanUp(): Promise<void> {
  await Promise.all(processes.map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
  await scratch?.drop();
}

type Run = (seconds: number) => Promise<LoadResult>;

/**
 * Each side first runs unmeasured for WARMUP_SECONDS (JIT, connection pools, the database's caches), so that the one
 * measured first is not the one paying for a cold start; then the sides take turns, `rounds` times. The speed of this
 * shared VM drifts by a quarter and more within a minute: measured once each, one after the other, a drift fell on one
 * side only, and single ratios swung by as much. In turns, a drift falls on both; and the side that goes first
 * alternates from round to round (ours, reference; reference, ours; …), so that a drift in one direction over a run
 * does not always favour the same side.
 */
async function warmThenMeasure(ours: Run, reference: Run): Promise<[LoadResult, LoadResult, number[]]> {
  await ours(WARMUP_SECONDS);
  await reference(WARMUP_SECONDS);
  const [mine, theirs]: [LoadResult[], LoadResult[]] = [[], []];
  for (let turn = 0; turn < rounds; turn++) {
    if (turn % 2 === 1) theirs.push(await reference(seconds));
    mine.push(await ours(seconds));
    if (turn % 2 === 0) theirs.push(await reference(seconds));
  }
  return [merged(mine), merged(theirs), mine.map((m, i) => round(m.rps / theirs[i]!.rps))];
}

/** Rounds of equal length as one: mean throughput, median latencies, every error counted. */
function merged(results: LoadResult[]): LoadResult {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    rps: Math.round(sum(results.map((r) => r.rps)) / results.length),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    errors: sum(results.map((r) => r.errors)),
    non2xx: sum(results.map((r) => r.non2xx)),
  };
}

async function sideBySide(name: string, ours: Run, baseline: Run) {
  const [a, b, roundRatios] = await warmThenMeasure(ours, baseline);
  checkClean(name, a);
  checkClean(`${name} (baseline)`, b);
  const out = { rps: a.rps, p50Ms: a.p50Ms, p99Ms: a.p99Ms, baselineRps: b.rps, baselineP99Ms: b.p99Ms, ratio: round(a.rps / b.rps), roundRatios };
  log(
    `${name.padEnd(16)} ours ${a.rps} rps (p50 ${a.p50Ms} ms, p99 ${a.p99Ms} ms)   floor ${b.rps} rps (p99 ${b.p99Ms} ms)   ratio ${out.ratio} (rounds ${roundRatios.join(', ')})`,
  );
  return out;
}

async function measureGrowth(serverDb: string, url: string, headers: Record<string, string>, transactionId: string) {
  const small = Number(args.small);
  const large = Number(args.large);
  const measure = async () => {
    await sequentialP50Ms(`${url}/reuseid/onboarding/${transactionId}`, headers, 200); // warm caches
    return sequentialP50Ms(`${url}/reuseid/onboarding/${transactionId}`, headers, 2000);
  };
  const t0 = Date.now();
  await fillTransactions(serverDb, small);
  const p50Small = await measure();
  await fillTransactions(serverDb, large);
  const p50Large = await measure();
  const out = { p50Small, p50Large, ratio: round(p50Large / p50Small) };
  log(
    `growth           p50 ${p50Small} ms at ${small} rows, ${p50Large} ms at ${large} rows   ratio ${out.ratio}   (filling took ${Math.round((Date.now() - t0) / 1000)} s)`,
  );
  return out;
}

async function issueToken(url: string, basic: string): Promise<string> {
  const res = await fetch(`${url}/auth/open/connect/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function created(url: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${url}/reuseid/onboarding`, { method: 'POST', headers, body: '{}' });
  return ((await res.json()) as { data: { transactionId: string } }).data.transactionId;
}

/**
 * Wraps a side's runs to add up its requests and the CPU its process used meanwhile, and with `postgres` what the local
 * PostgreSQL used too (null without: nothing to read, and /proc is not scanned).
 */
function cpuPerRequest(side: ServerProcess, postgres: boolean) {
  let requests = 0;
  let processMs = 0;
  let postgresMs = 0;
  const postgresCpuMs = () => (postgres ? localPostgresCpuMs() : 0);
  const perRequestUs = (ms: number) => (requests ? Math.round((ms * 1000) / requests) : 0);
  return {
    counting:
      (run: Run): Run =>
      async (seconds) => {
        const [side0, postgres0] = [side.cpuMs(), postgresCpuMs()];
        const result = await run(seconds);
        processMs += side.cpuMs() - side0;
        postgresMs += postgresCpuMs() - postgres0;
        requests += result.rps * seconds;
        return result;
      },
    processUs: () => perRequestUs(processMs),
    postgresUs: () => (postgres ? perRequestUs(postgresMs) : null),
  };
}

function checkClean(name: string, result: LoadResult): void {
  if (result.errors || result.non2xx) log(`  warning: ${name} had ${result.errors} errors and ${result.non2xx} non-2xx answers`);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
