import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createClient, freePort, startProcess, type ServerProcess } from '../../bench/processes.js';
import type { RpCredentials } from '../../bench/onboarding-load.js';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';
import type { WebhookLedger } from './webhook-ledger.js';

/**
 * Several `reuseid serve` processes on one throwaway PostgreSQL, as in production behind a load balancer: one
 * master key, one public URL (what tokens and device signatures name), each process on a port of its own.
 */
const BIN = join(import.meta.dirname, '../../bin/reuseid.js');
/** Never resolved: the load driver sends each request to an instance and keeps this as what clients sign. */
export const PUBLIC_URL = 'http://reuseid.lb.test';
/** The shortest lease the server accepts, so deliveries held by a killed process come back within the suite. */
export const LEASE_SECONDS = 20;

export interface Fleet {
  cluster: PostgresCluster;
  databaseUrl: string;
  instances: ServerProcess[];
  urls: string[];
  kill(index: number): Promise<void>;
  restart(index: number): Promise<void>;
  /** A client in an account of its own, and a subscription of that account to `onboarding.completed` at the ledger. */
  account(accountId: string, ledger: WebhookLedger): Promise<RpCredentials>;
  destroy(): Promise<void>;
}

export async function startFleet(size: number): Promise<Fleet> {
  const cluster = await startPostgresCluster();
  const instances: ServerProcess[] = [];
  try {
    const databaseUrl = await cluster.createDatabase('reuseid');
    const env = instanceEnv(databaseUrl);
    const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
    const start = (port: number) => startProcess([BIN, 'serve'], { ...env, PORT: String(port) }, '/readyz', port);
    // All at once on an empty database: the migrations must be safe under concurrent starts.
    instances.push(...(await Promise.all(ports.map(start))));
    const fleet: Fleet = {
      cluster,
      databaseUrl,
      instances,
      urls: instances.map((i) => i.url),
      async kill(index) {
        const { child } = instances[index]!;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      },
      async restart(index) {
        instances[index] = await start(ports[index]!);
      },
      account: (accountId, ledger) => createAccount(fleet, accountId, ledger),
      async destroy() {
        await Promise.all(instances.map((i) => i.stop()));
        await cluster.destroy();
      },
    };
    return fleet;
  } catch (error) {
    await Promise.all(instances.map((i) => i.stop()));
    await cluster.destroy();
    throw error;
  }
}

function instanceEnv(databaseUrl: string): NodeJS.ProcessEnv {
  return {
    HOST: '127.0.0.1',
    REUSEID_DATABASE_URL: databaseUrl,
    REUSEID_DATABASE_POOL_SIZE: '5',
    REUSEID_MASTER_KEY: randomBytes(32).toString('base64'),
    REUSEID_PUBLIC_URL: PUBLIC_URL,
    REUSEID_SANDBOX: 'true',
    REUSEID_LOG_LEVEL: 'warn',
    REUSEID_WEBHOOK_ALLOW_PRIVATE: 'true',
    REUSEID_WEBHOOK_POLL_INTERVAL_MS: '200',
    REUSEID_WEBHOOK_LEASE_SECONDS: String(LEASE_SECONDS),
    // Every simulated device comes from 127.0.0.1; the per-source activation limits are not what is tested here: the
    // request rate, and the guessing bound, which counts each activation in flight (a slot is taken before the code is
    // checked) and keeps the slots of activations an instance was killed or PostgreSQL went down in the middle of until
    // its window ends. With six devices at once over three instances, ten in flight or leaked from one address was
    // reached now and then, and one onboarding answered 429.
    REUSEID_RATE_LIMIT_ACTIVATION_PER_SOURCE: '1000000',
    REUSEID_ACTIVATION_MAX_FAILURES_PER_SOURCE: '1000000',
  };
}

async function createAccount(fleet: Fleet, accountId: string, ledger: WebhookLedger): Promise<RpCredentials> {
  const client = await createClient(fleet.databaseUrl, { name: accountId, accountId, permissions: ['reuseid-onboarding', 'events'] });
  const base = fleet.urls[0]!;
  const token = await fetch(`${base}/auth/open/connect/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=signicat-api',
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  const created = await fetch(`${base}/events/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'fault ledger', url: ledger.url, eventNames: ['onboarding.completed'] }),
  });
  if (created.status !== 201) throw new Error(`subscription not created: ${created.status} ${await created.text()}`);
  ledger.secret = ((await created.json()) as { secret: string }).secret;
  return { clientId: client.clientId, clientSecret: client.clientSecret };
}
