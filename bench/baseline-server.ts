/**
 * The floor for the onboarding benchmarks: a bare Fastify route doing the same token verification (ES256 JWT against
 * the server's published key, remembered per token as the server does) and the same inserts (user, dossier,
 * transaction, in one database transaction) or the same select, through the database driver alone: prepared
 * statements, no query builder, no audit chain, no encryption, no validation beyond the token. The ratio to it is the cost of everything else the real server does,
 * the query builder included. The schema is the server's own (migrated here), so indexes cost both sides the same.
 */
import { randomUUID } from 'node:crypto';
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import pg from 'pg';
import { migrateToLatest, openStore } from '../src/store/database.js';

interface Floor {
  /** Inserts a user, its dossier and a Pending onboarding transaction in one database transaction. */
  start(accountId: string, ids: { user: string; dossier: string; tx: string }, now: number): Promise<void>;
  get(accountId: string, id: string): Promise<unknown>;
}

const USER = 'insert into users (id, account_id, state, data_key_sealed, external_ref_sealed, created_at, updated_at) values ($1, $2, $3, $4, null, $5, $5)';
const DOSSIER = 'insert into dossiers (id, account_id, user_id, created_at) values ($1, $2, $3, $4)';
const TRANSACTION =
  'insert into transactions (id, account_id, client_id, kind, user_id, device_id, status, stage, provider, provider_options, ' +
  'external_ref_sealed, activation_code_hash, activation_code_expires_at, dossier_id, process_id, proofing_id, user_data_sealed, ' +
  'failure_reason, created_at, updated_at, expires_at, ended_at) values ' +
  "($1, $2, 'c', 'onboarding', $3, null, 'Pending', 'activation', 'signicatvideoid', '{}', null, $4, $5, $6, $7, null, null, null, $8, $8, $9, null)";
const SELECT = 'select * from transactions where id = $1 and account_id = $2';

const transactionValues = (accountId: string, ids: { user: string; dossier: string; tx: string }, now: number) => [
  ids.tx,
  accountId,
  ids.user,
  randomUUID(),
  now + 600_000,
  ids.dossier,
  randomUUID(),
  now,
  now + 3600_000,
];

/** node-postgres with named (server-side prepared) statements on a pool the size of the server's. */
function postgresFloor(url: string): Floor {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const run = (client: pg.PoolClient, name: string, text: string, values: unknown[]) => client.query({ name, text, values });
  return {
    async start(accountId, ids, now) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        await run(client, 'floor-user', USER, [ids.user, accountId, 'ACTIVE', 'x', now]);
        await run(client, 'floor-dossier', DOSSIER, [ids.dossier, accountId, ids.user, now]);
        await run(client, 'floor-tx', TRANSACTION, transactionValues(accountId, ids, now));
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw error;
      } finally {
        client.release();
      }
    },
    async get(accountId, id) {
      return (await pool.query({ name: 'floor-get', text: SELECT, values: [id, accountId] })).rows[0];
    },
  };
}

/** better-sqlite3 prepared statements, with the server's own pragmas (WAL, synchronous NORMAL, foreign keys). */
function sqliteFloor(path: string): Floor {
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  // SQLite numbers its parameters by occurrence: $n becomes ?, and the values are laid out in that order.
  const prepare = (text: string) => {
    const order = [...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]) - 1);
    const statement = db.prepare(text.replace(/\$\d+/g, '?'));
    const laid = (values: unknown[]) => order.map((i) => values[i]);
    return { run: (values: unknown[]) => statement.run(...laid(values)), get: (values: unknown[]) => statement.get(...laid(values)) };
  };
  const user = prepare(USER);
  const dossier = prepare(DOSSIER);
  const transaction = prepare(TRANSACTION);
  const select = prepare(SELECT);
  const insertAll = db.transaction((accountId: string, ids: { user: string; dossier: string; tx: string }, now: number) => {
    user.run([ids.user, accountId, 'ACTIVE', 'x', now]);
    dossier.run([ids.dossier, accountId, ids.user, now]);
    transaction.run(transactionValues(accountId, ids, now));
  });
  return {
    start: async (accountId, ids, now) => insertAll(accountId, ids, now),
    get: async (accountId, id) => select.get([id, accountId]),
  };
}

const port = Number(process.env.PORT);
const issuer = process.env.BENCH_ISSUER!;
const databaseUrl = process.env.REUSEID_DATABASE_URL!;
const jwks = createLocalJWKSet((await (await fetch(`${issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet);

// The schema comes from the server's migrations; the query builder is used for that set-up only.
const setup = openStore(databaseUrl);
await migrateToLatest(setup.db);
for (const id of (process.env.BENCH_ACCOUNTS ?? '').split(',').filter(Boolean)) {
  await setup.db
    .insertInto('accounts')
    .values({ id, name: id, created_at: Date.now() })
    .onConflict((oc) => oc.doNothing())
    .execute();
}
await setup.db.destroy();
const floor = databaseUrl.startsWith('sqlite:') ? sqliteFloor(databaseUrl.slice('sqlite:'.length)) : postgresFloor(databaseUrl);

const app = Fastify();
// The server remembers a verified token until it expires (RPs reuse tokens); so does the floor, or it would pay an
// ES256 verification per request that the server does not.
const verified = new Map<string, string>();
const authorize = async (header: string | undefined) => {
  const token = (header ?? '').slice(7);
  const known = verified.get(token);
  if (known) return known;
  const { payload } = await jwtVerify(token, jwks, { issuer, audience: issuer, algorithms: ['ES256'] });
  verified.set(token, payload.account_id as string);
  return payload.account_id as string;
};

app.post('/reuseid/onboarding', async (request) => {
  const accountId = await authorize(request.headers.authorization);
  const ids = { user: randomUUID(), dossier: randomUUID(), tx: randomUUID() };
  await floor.start(accountId, ids, Date.now());
  return { data: { status: 'Pending', transactionId: ids.tx, userId: ids.user } };
});

app.get('/reuseid/onboarding/:id', async (request) => {
  const accountId = await authorize(request.headers.authorization);
  return { data: await floor.get(accountId, (request.params as { id: string }).id) };
});

app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port, host: '127.0.0.1' });
