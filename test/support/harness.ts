import { afterAll, beforeAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createContext, type AppContext } from '../../src/context.js';
import type { Permission } from '../../src/oauth/permissions.js';
import { DeviceClient } from '../../src/sdk/device.js';
import { ManualClock } from '../../src/shared/runtime.js';
import { migrateToLatest, openStore } from '../../src/store/database.js';
import type { TestDatabase } from './databases.js';

export const TEST_MASTER_KEY = Buffer.alloc(32, 7);
export const PUBLIC_URL = 'http://reuseid.test';

export interface Harness {
  app: FastifyInstance;
  ctx: AppContext;
  clock: ManualClock;
  /** Creates an API client and returns a bearer token for it. */
  rp(options?: { account?: string; permissions?: Permission[] }): Promise<Rp>;
  /** A new device (fresh key) talking to the app through inject. */
  device(): Promise<DeviceClient>;
  close(): Promise<void>;
}

export interface Rp {
  clientId: string;
  clientSecret: string;
  accountId: string;
  token: string;
  post(path: string, body: unknown): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  get(path: string): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
}

export async function createHarness(database: TestDatabase, env: Record<string, string> = {}): Promise<Harness> {
  const { url, drop } = await database.create();
  const config: Config = loadConfig({
    REUSEID_DATABASE_URL: url,
    REUSEID_PUBLIC_URL: PUBLIC_URL,
    REUSEID_SANDBOX: 'true',
    REUSEID_LOG_LEVEL: 'silent',
    ...env,
  });
  const store = openStore(config.databaseUrl);
  await migrateToLatest(store.db);
  const clock = new ManualClock();
  const ctx = createContext({ config, store, masterKey: TEST_MASTER_KEY, clock });
  const app = await buildApp(ctx);
  await app.ready();

  const inject = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const response = await app.inject({ method: method as 'GET', url: path, headers, ...(body === undefined ? {} : { payload: body as string }) });
    return {
      status: response.statusCode,
      body: (response.body ? safeJson(response.body) : undefined) as any,
      headers: response.headers as Record<string, unknown>,
    };
  };

  return {
    app,
    ctx,
    clock,
    async rp(options = {}) {
      const client = await ctx.clients.create(store.db, {
        name: 'test rp',
        accountId: options.account,
        permissions: options.permissions ?? ['reuseid-onboarding', 'reuseid-users'],
      });
      const issued = await inject(
        'POST',
        '/auth/open/connect/token',
        {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
        },
        'grant_type=client_credentials',
      );
      const token = issued.body.access_token as string;
      const auth = { authorization: `Bearer ${token}` };
      return {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        accountId: client.accountId,
        token,
        post: (path, body) => inject('POST', path, { ...auth, 'content-type': 'application/json' }, JSON.stringify(body)),
        get: (path) => inject('GET', path, auth),
      };
    },
    async device() {
      return DeviceClient.create(PUBLIC_URL, async (fullUrl, init) => {
        const response = await app.inject({
          method: init.method as 'GET',
          url: fullUrl.slice(PUBLIC_URL.length),
          headers: init.headers,
          ...(init.body === undefined ? {} : { payload: init.body }),
        });
        return { status: response.statusCode, text: async () => response.body };
      });
    },
    async close() {
      await app.close();
      await store.close();
      await drop();
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A harness (and an RP of the default account) for the enclosing describe block: created before its tests, closed
 * after them. Read `t.h` and `t.rp` inside tests.
 */
/** Request limits small enough to reach in a test: tokens per client, signed and unsigned device requests, activations. */
export const TIGHT_REQUEST_LIMITS = {
  REUSEID_RATE_LIMIT_TOKEN_PER_CLIENT: '4',
  REUSEID_RATE_LIMIT_DEVICE_PER_DEVICE: '3',
  REUSEID_RATE_LIMIT_DEVICE_FAILURES_PER_SOURCE: '3',
  REUSEID_RATE_LIMIT_ACTIVATION_PER_SOURCE: '3',
};

export function useHarness(database: TestDatabase, env: Record<string, string> = {}): { h: Harness; rp: Rp } {
  const t = {} as { h: Harness; rp: Rp };
  beforeAll(async () => {
    t.h = await createHarness(database, env);
    t.rp = await t.h.rp();
  });
  afterAll(() => t.h?.close());
  return t;
}
