import { performance } from 'node:perf_hooks';
import type { Config } from '../config.js';
import type { DataCipher } from '../security/keyring.js';
import type { Store } from '../store/database.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { DeliveryRow, WebhookDeliveries } from './deliveries.js';
import { openEnvelope } from './outbox.js';
import { webhookSignature } from './signer.js';
import { parseWebhookUrl, resolveWebhookTarget, WebhookTargetRefused, type Resolver } from './ssrf.js';
import type { SubscriptionRow, WebhookSubscriptions } from './subscriptions.js';
import { postWebhook } from './transport.js';

/**
 * Webhook delivery. Each tick (1) fans new outbox events out into delivery rows, in the same transaction that marks
 * them dispatched, (2) claims due deliveries by leasing them (`locked_until`), (3) sends each claimed attempt and
 * records it. All state is in the database, so a restart resumes where it stopped, and several processes on one
 * PostgreSQL share the work: claims use FOR UPDATE SKIP LOCKED, and a result is recorded only by the holder of the
 * lease, which outlasts the send timeout, so one attempt is never sent twice. SQLite has one writer process; its
 * claims run inside a transaction.
 */
const BATCH_SIZE = 25;
/** Standard Webhooks' example schedule (after the immediate first attempt); the last step repeats until expiry. */
const RETRY_DELAYS_MS = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400].map((s) => s * 1000);
const JITTER = 0.2;
const ERROR_TEXT_LIMIT = 500;

export interface TickResult {
  dispatched: number;
  attempted: number;
}

interface Outcome {
  statusCode: number | null;
  retryAfterMs: number | null;
  error: string | null;
  subscription?: SubscriptionRow;
}

export interface WebhookWorkerDeps {
  store: Store;
  clock: Clock;
  random: RandomSource;
  cipher: DataCipher;
  subscriptions: WebhookSubscriptions;
  deliveries: WebhookDeliveries;
  config: Config['webhooks'];
  resolve: Resolver;
  post?: typeof postWebhook;
}

export class WebhookWorker {
  private readonly post: typeof postWebhook;

  constructor(private readonly deps: WebhookWorkerDeps) {
    this.post = deps.post ?? postWebhook;
  }

  /** One round of work; the loop calls it, and tests call it directly while moving the clock. */
  async tick(): Promise<TickResult> {
    const dispatched = await this.dispatchOutbox();
    await this.failOverdue();
    const claimed = await this.claim();
    await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
    return { dispatched, attempted: claimed.length };
  }

  /** Ticks until stopped: at once again while there is a backlog, else after the poll interval. */
  start(log: { error: (obj: unknown, msg: string) => void; info: (obj: unknown, msg: string) => void }): () => Promise<void> {
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    let timer: NodeJS.Timeout;
    const schedule = (delayMs: number) => {
      timer = setTimeout(run, delayMs);
      timer.unref();
    };
    // While the database is down every tick fails: log the first failure and then once a minute, not every poll.
    let failingSince: number | null = null;
    let lastLogged = 0;
    const run = () => {
      running = this.tick().then(
        (result) => {
          if (failingSince !== null) log.info({ downForMs: Date.now() - failingSince }, 'webhook delivery recovered');
          failingSince = null;
          if (!stopped) schedule(result.dispatched === BATCH_SIZE || result.attempted === BATCH_SIZE ? 0 : this.deps.config.pollIntervalMs);
        },
        (err: unknown) => {
          const now = Date.now();
          failingSince ??= now;
          if (now - lastLogged >= 60_000) {
            log.error({ err }, 'webhook delivery tick failed');
            lastLogged = now;
          }
          if (!stopped) schedule(this.deps.config.pollIntervalMs);
        },
      );
    };
    schedule(0);
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    };
  }

  private get db() {
    return this.deps.store.db;
  }

  private async dispatchOutbox(): Promise<number> {
    return this.deps.store.write(async (trx) => {
      // Claims skip rows another worker holds (PostgreSQL); SQLite has a single writer.
      const events = await this.deps.store
        .claimForUpdate(
          trx
            .selectFrom('outbox_events')
            .select(['id', 'account_id', 'event_name', 'expires_at'])
            .where('dispatched_at', 'is', null)
            .orderBy('created_at')
            .limit(BATCH_SIZE),
        )
        .execute();
      if (!events.length) return 0;
      for (const event of events) await this.deps.deliveries.fanOut(trx, event);
      await trx
        .updateTable('outbox_events')
        .set({ dispatched_at: this.deps.clock.now() })
        .where(
          'id',
          'in',
          events.map((e) => e.id),
        )
        .execute();
      return events.length;
    });
  }

  /** Deliveries whose retry window closed while they could not be sent (subscription disabled, worker down). */
  private async failOverdue(): Promise<void> {
    const now = this.deps.clock.now();
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', last_error: 'the retry window closed before the event could be delivered', updated_at: now })
      .where('status', '=', 'pending')
      .where('deadline_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .execute();
  }

  private async claim(): Promise<DeliveryRow[]> {
    const now = this.deps.clock.now();
    // The lease (config, at least 20 s) outlasts the send timeout, so it cannot lapse while its attempt is in flight.
    const lease = { lease_id: this.deps.random.uuid(), locked_until: now + this.deps.config.leaseSeconds * 1000 };
    return this.deps.store.write(async (trx) => {
      const due = await this.deps.store
        .claimForUpdate(
          trx
            .selectFrom('webhook_deliveries')
            .selectAll()
            .where('status', '=', 'pending')
            .where('next_attempt_at', '<=', now)
            .where('deadline_at', '>', now)
            .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
            .where('subscription_id', 'in', (eb) => eb.selectFrom('webhook_subscriptions').select('id').where('disabled_at', 'is', null))
            .orderBy('next_attempt_at')
            .limit(BATCH_SIZE),
        )
        .execute();
      if (!due.length) return [];
      await trx
        .updateTable('webhook_deliveries')
        .set((eb) => ({ ...lease, attempt_count: eb('attempt_count', '+', 1), updated_at: now }))
        .where(
          'id',
          'in',
          due.map((d) => d.id),
        )
        .execute();
      return due.map((d) => ({ ...d, ...lease, attempt_count: d.attempt_count + 1 }));
    });
  }

  private async attempt(delivery: DeliveryRow): Promise<void> {
    const startedAt = this.deps.clock.now();
    const started = performance.now();
    const outcome = await this.send(delivery, startedAt).catch(
      (error: unknown): Outcome => ({ statusCode: null, retryAfterMs: null, error: describeError(error) }),
    );
    await this.record(delivery, startedAt, Math.round(performance.now() - started), outcome);
  }

  private async send(delivery: DeliveryRow, now: number): Promise<Outcome> {
    const subscription = await this.db.selectFrom('webhook_subscriptions').selectAll().where('id', '=', delivery.subscription_id).executeTakeFirstOrThrow();
    const event = await this.db.selectFrom('outbox_events').select('envelope').where('id', '=', delivery.event_id).executeTakeFirstOrThrow();
    const body = JSON.stringify(openEnvelope(this.deps.cipher, delivery.event_id, event.envelope));
    // Checked again at send time: the name may resolve elsewhere now than when the subscription was created.
    const url = parseWebhookUrl(this.deps.subscriptions.urlOf(subscription), this.deps.config.allowPrivate);
    const pinned = await resolveWebhookTarget(url, { allowPrivate: this.deps.config.allowPrivate, resolve: this.deps.resolve });
    const timestamp = Math.floor(now / 1000);
    const headers = {
      'user-agent': 'reuseid-webhooks/1',
      'webhook-id': delivery.event_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': webhookSignature(this.deps.subscriptions.signingSecrets(subscription, now), delivery.event_id, timestamp, body),
    };
    const response = await this.post(url, pinned, headers, body);
    return { statusCode: response.statusCode, retryAfterMs: parseRetryAfter(response.headers['retry-after'], now), error: null, subscription };
  }

  /** Records the attempt and the delivery's next state, unless the lease was lost meanwhile. */
  private async record(delivery: DeliveryRow, startedAt: number, durationMs: number, outcome: Outcome): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.write(async (trx) => {
      const updated = await trx
        .updateTable('webhook_deliveries')
        .set({
          ...this.nextState(delivery, outcome, now),
          locked_until: null,
          lease_id: null,
          last_status_code: outcome.statusCode,
          last_error: outcome.error,
          updated_at: now,
        })
        .where('id', '=', delivery.id)
        .where('lease_id', '=', delivery.lease_id)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) return;
      await trx
        .insertInto('webhook_delivery_attempts')
        .values({
          delivery_id: delivery.id,
          attempt: delivery.attempt_count,
          started_at: startedAt,
          duration_ms: durationMs,
          status_code: outcome.statusCode,
          error: outcome.error,
        })
        .execute();
      if (outcome.statusCode === 410 && outcome.subscription) await this.deps.subscriptions.disableGone(trx, outcome.subscription);
    });
  }

  private nextState(delivery: DeliveryRow, outcome: Outcome, now: number): Pick<DeliveryRow, 'status' | 'next_attempt_at'> {
    const code = outcome.statusCode;
    if (code !== null && code >= 200 && code < 300) return { status: 'succeeded', next_attempt_at: delivery.next_attempt_at };
    if (code === 410) return { status: 'failed', next_attempt_at: delivery.next_attempt_at };
    const nextAt = now + Math.max(this.backoff(delivery.attempt_count), outcome.retryAfterMs ?? 0);
    return nextAt < delivery.deadline_at ? { status: 'pending', next_attempt_at: nextAt } : { status: 'failed', next_attempt_at: delivery.next_attempt_at };
  }

  /** The schedule's delay after the given attempt, spread by ±10% so that retries of one outage do not arrive in lockstep. */
  private backoff(attempt: number): number {
    const base = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length) - 1]!;
    const unit = this.deps.random.bytes(4).readUInt32BE(0) / 2 ** 32;
    return Math.round(base * (1 - JITTER / 2 + JITTER * unit));
  }
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function describeError(error: unknown): string {
  const text = error instanceof WebhookTargetRefused ? `refused: ${error.message}` : error instanceof Error ? error.message : String(error);
  return text.slice(0, ERROR_TEXT_LIMIT);
}
