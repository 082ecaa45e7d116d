/**
 * The baseline for the onboarding benchmarks: a bare Fastify route doing the same token verification (ES256 JWT
 * against the server's published key) and the same inserts (user, dossier, transaction) or the same select, with
 * nothing else: no audit chain, no encryption, no validation beyond the token. The ratio to it is the cost of
 * everything else the real server does.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { migrateToLatest, openStore } from '../src/store/database.js';

const port = Number(process.env.PORT);
const issuer = process.env.BENCH_ISSUER!;
const jwks = createLocalJWKSet((await (await fetch(`${issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
const store = openStore(process.env.REUSEID_DATABASE_URL!);
await migrateToLatest(store.db);
await store.db
  .insertInto('accounts')
  .values({ id: 'default', name: 'default', created_at: Date.now() })
  .onConflict((oc) => oc.doNothing())
  .execute();

const app = Fastify();
const authorize = async (header: string | undefined) => {
  const { payload } = await jwtVerify((header ?? '').slice(7), jwks, { issuer, audience: issuer, algorithms: ['ES256'] });
  return payload.account_id as string;
};

app.post('/reuseid/onboarding', async (request) => {
  const accountId = await authorize(request.headers.authorization);
  const now = Date.now();
  const ids = { user: randomUUID(), dossier: randomUUID(), tx: randomUUID() };
  await store.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('users')
      .values({ id: ids.user, account_id: accountId, state: 'ACTIVE', data_key_sealed: 'x', external_ref_sealed: null, created_at: now, updated_at: now })
      .execute();
    await trx.insertInto('dossiers').values({ id: ids.dossier, account_id: accountId, user_id: ids.user, created_at: now }).execute();
    await trx
      .insertInto('transactions')
      .values({
        id: ids.tx,
        account_id: accountId,
        client_id: 'c',
        kind: 'onboarding',
        user_id: ids.user,
        device_id: null,
        status: 'Pending',
        stage: 'activation',
        provider: 'signicatvideoid',
        provider_options: '{}',
        external_ref_sealed: null,
        activation_code_hash: randomUUID(),
        activation_code_expires_at: now + 1,
        dossier_id: ids.dossier,
        process_id: randomUUID(),
        proofing_id: null,
        user_data_sealed: null,
        failure_reason: null,
        created_at: now,
        updated_at: now,
        expires_at: now + 3600_000,
        ended_at: null,
      })
      .execute();
  });
  return { data: { status: 'Pending', transactionId: ids.tx, userId: ids.user } };
});

app.get('/reuseid/onboarding/:id', async (request) => {
  const accountId = await authorize(request.headers.authorization);
  const row = await store.db
    .selectFrom('transactions')
    .selectAll()
    .where('id', '=', (request.params as { id: string }).id)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return { data: row };
});

app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port, host: '127.0.0.1' });
