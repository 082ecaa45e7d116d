import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canonicalize } from 'json-canonicalize';
import type { DataCipher } from '../security/keyring.js';
import type { Clock } from '../shared/runtime.js';
import { isUniqueViolation, type Db, type Executor } from '../store/database.js';
import { apiError } from '../shared/errors.js';
import { principalOf } from './auth.js';

/**
 * `Idempotency-Key` on the RP API's POSTs: the first response is stored for 24 hours and replayed for a retry with
 * the same key and body; the same key with a different body is refused, and so is a retry while the first request
 * is still running. Server errors are not stored, so a retry after one runs again.
 */
declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the idempotency preHandler when the request carries an Idempotency-Key; null otherwise. */
    idempotency: { key: string; accountId: string; replayed: boolean } | null;
  }
}

/** Declares `request.idempotency` on every request of the app, so each request object keeps one shape. */
export function decorateIdempotency(app: FastifyInstance): void {
  app.decorateRequest('idempotency', null);
}

declare module '../store/schema.js' {
  interface Database {
    idempotency_records: {
      account_id: string;
      idempotency_key: string;
      request_hash: string;
      state: string;
      response_status: number | null;
      response_sealed: string | null;
      created_at: number;
      expires_at: number;
    };
  }
}

const TTL_MS = 24 * 3600 * 1000;
/** A record still 'running' after this long belongs to a request that died with its process. */
const ABANDONED_MS = 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Rewrites a stored response before it is replayed (for example to hand out a fresh one-time secret). */
export type ReplayTransform = (stored: unknown) => Promise<unknown>;

interface IdempotencyDeps {
  db: Db;
  clock: Clock;
  /** Seals stored responses: they may hold personal data. */
  cipher: DataCipher;
}

/** The preHandler hook of an RP POST: claims the key, or replays the stored answer. */
export function idempotency(deps: IdempotencyDeps, onReplay?: ReplayTransform) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const key = request.headers[IDEMPOTENCY_HEADER];
    if (key === undefined) return undefined;
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw apiError('invalid_idempotency_key', 'The Idempotency-Key header must be 1–255 visible ASCII characters.');
    }
    const { accountId } = principalOf(request);
    const requestHash = hashRequest(request);
    const now = deps.clock.now();
    // Forget an expired record, and one left 'running' by a process that died (requests end within 30 s).
    await deps.db
      .deleteFrom('idempotency_records')
      .where('account_id', '=', accountId)
      .where('idempotency_key', '=', key)
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb.and([eb('state', '=', 'running'), eb('created_at', '<=', now - ABANDONED_MS)])]))
      .execute();
    try {
      await deps.db
        .insertInto('idempotency_records')
        .values({
          account_id: accountId,
          idempotency_key: key,
          request_hash: requestHash,
          state: 'running',
          response_status: null,
          response_sealed: null,
          created_at: now,
          expires_at: now + TTL_MS,
        })
        .execute();
      request.idempotency = { key, accountId, replayed: false };
      return undefined;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const record = await deps.db
      .selectFrom('idempotency_records')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('idempotency_key', '=', key)
      .executeTakeFirstOrThrow();
    if (record.request_hash !== requestHash) {
      throw apiError('idempotency_key_reused', 'This Idempotency-Key was used with a different request; use a new key for a new request.');
    }
    if (record.state !== 'done' || record.response_sealed === null) {
      throw apiError('idempotency_request_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.', {
        headers: { 'Retry-After': '1' },
      });
    }
    request.idempotency = { key, accountId, replayed: true };
    const stored = deps.cipher.openJson<unknown>(record.response_sealed, sealContext(accountId, key));
    const body = onReplay && record.response_status === 200 ? await onReplay(stored) : stored;
    return reply
      .status(record.response_status ?? 200)
      .header('Idempotent-Replayed', 'true')
      .send(body);
  };
}

/** onSend hook: stores the first response (client errors included), or forgets the key after a server error. */
export function storeIdempotentResponse(deps: IdempotencyDeps, strip: (body: unknown) => unknown = (b) => b) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const state = request.idempotency;
    if (!state || state.replayed) return payload;
    const db = deps.db;
    if (reply.statusCode >= 500) {
      await db.deleteFrom('idempotency_records').where('account_id', '=', state.accountId).where('idempotency_key', '=', state.key).execute();
      return payload;
    }
    const body = typeof payload === 'string' && payload ? strip(JSON.parse(payload)) : null;
    await db
      .updateTable('idempotency_records')
      .set({ state: 'done', response_status: reply.statusCode, response_sealed: deps.cipher.sealJson(body, sealContext(state.accountId, state.key)) })
      .where('account_id', '=', state.accountId)
      .where('idempotency_key', '=', state.key)
      .execute();
    return payload;
  };
}

function hashRequest(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url}\n${canonicalize(request.body ?? null)}`)
    .digest('hex');
}

const sealContext = (accountId: string, key: string) => `idempotency:${accountId}:${key}`;

export async function purgeExpiredIdempotencyRecords(executor: Executor, now: number): Promise<void> {
  await executor.deleteFrom('idempotency_records').where('expires_at', '<=', now).execute();
}
