import type { Selectable } from 'kysely';
import { apiError } from '../shared/errors.js';
import type { Db, Executor, Store, Tx } from '../store/database.js';
import { isoTime, type Clock, type RandomSource } from '../shared/runtime.js';
import type { EventName } from './catalogue.js';
import type { Outbox } from './outbox.js';
import { decodeEventNames, type WebhookSubscriptions } from './subscriptions.js';
import type { DeliveryStatus, WebhookDeliveriesTable, WebhookDeliveryAttemptsTable } from './tables.js';

/**
 * The delivery log: one row per (event, subscription), created when the outbox event is fanned out, with one
 * attempt row per send. What the worker sends is always read back from the sealed outbox envelope.
 */
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

export interface DeliveryView {
  id: string;
  eventId: string;
  eventName: string;
  subscriptionId: string;
  status: DeliveryStatus;
  attemptCount: number;
  /** When the next attempt is due; null once the delivery has ended. */
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface AttemptView {
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

export const TEST_EVENT_NAME: EventName = 'webhook.test';
/** A manual redelivery may retry for this long even when the event's own retry window has closed. */
export const MANUAL_REDELIVERY_WINDOW_MS = 3600 * 1000;

export const deliveryNotFound = (id: string) => apiError('delivery_not_found', `No webhook delivery with ID ${id} exists for this account.`);

export class WebhookDeliveries {
  constructor(
    private readonly deps: { db: Db; write: Store['write']; clock: Clock; random: RandomSource; outbox: Outbox; subscriptions: WebhookSubscriptions },
  ) {}

  /** Creates the deliveries of one outbox event: every enabled subscription of the event's account that wants it. */
  async fanOut(executor: Executor, event: { id: string; account_id: string; event_name: string; expires_at: number }): Promise<number> {
    const subscriptions = await executor
      .selectFrom('webhook_subscriptions')
      .select(['id', 'event_names'])
      .where('account_id', '=', event.account_id)
      .where('disabled_at', 'is', null)
      .execute();
    const targets = subscriptions.filter((s) => decodeEventNames(s.event_names)?.includes(event.event_name) ?? true);
    for (const target of targets) await this.insert(executor, event, target.id);
    return targets.length;
  }

  /** "Send test event": a mock event to this one subscription, through the normal delivery path. */
  async sendTest(accountId: string, subscriptionId: string): Promise<DeliveryView> {
    return this.deps.write(async (trx) => {
      const subscription = await this.deps.subscriptions.find(trx, accountId, subscriptionId);
      if (subscription.disabled_at !== null) throw subscriptionDisabled(subscriptionId);
      const envelope = await this.deps.outbox.enqueue(
        trx,
        accountId,
        TEST_EVENT_NAME,
        { subscriptionId, message: 'This is a test event.' },
        { tags: ['mock'] },
      );
      // Dispatched by hand: the fan-out must not send the test to the account's other subscriptions.
      const event = await trx
        .updateTable('outbox_events')
        .set({ dispatched_at: this.deps.clock.now() })
        .where('id', '=', envelope.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toDeliveryView(await this.insert(trx, event, subscriptionId));
    });
  }

  async list(accountId: string, subscriptionId: string, page: { limit: number; before?: string }): Promise<DeliveryView[]> {
    await this.deps.subscriptions.find(this.deps.db, accountId, subscriptionId);
    let query = this.deps.db.selectFrom('webhook_deliveries').selectAll().where('subscription_id', '=', subscriptionId).where('account_id', '=', accountId);
    if (page.before) {
      const anchor = await this.find(this.deps.db, accountId, page.before);
      query = query.where((eb) =>
        eb.or([eb('created_at', '<', anchor.created_at), eb.and([eb('created_at', '=', anchor.created_at), eb('id', '<', anchor.id)])]),
      );
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map(toDeliveryView);
  }

  async get(accountId: string, deliveryId: string): Promise<DeliveryView & { attempts: AttemptView[] }> {
    const row = await this.find(this.deps.db, accountId, deliveryId);
    const attempts = await this.deps.db.selectFrom('webhook_delivery_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt').execute();
    return { ...toDeliveryView(row), attempts: attempts.map(toAttemptView) };
  }

  /** Sends the event again now, under the same webhook-id, and retries it on failure for a bounded window. */
  async redeliver(accountId: string, deliveryId: string): Promise<DeliveryView> {
    return this.deps.write(async (trx) => {
      const row = await this.find(trx, accountId, deliveryId);
      const now = this.deps.clock.now();
      if (row.locked_until !== null && row.locked_until > now) {
        throw apiError('delivery_in_progress', 'An attempt of this delivery is being sent right now; retry when it has finished.');
      }
      const subscription = await this.deps.subscriptions.find(trx, accountId, row.subscription_id);
      if (subscription.disabled_at !== null) throw subscriptionDisabled(row.subscription_id);
      const updated: DeliveryRow = {
        ...row,
        status: 'pending',
        next_attempt_at: now,
        deadline_at: Math.max(row.deadline_at, now + MANUAL_REDELIVERY_WINDOW_MS),
        updated_at: now,
      };
      await trx.updateTable('webhook_deliveries').set(updated).where('id', '=', deliveryId).execute();
      return toDeliveryView(updated);
    });
  }

  private async insert(
    executor: Executor,
    event: { id: string; account_id: string; event_name: string; expires_at: number },
    subscriptionId: string,
  ): Promise<DeliveryRow> {
    const now = this.deps.clock.now();
    const row: DeliveryRow = {
      id: this.deps.random.uuid(),
      account_id: event.account_id,
      event_id: event.id,
      event_name: event.event_name,
      subscription_id: subscriptionId,
      status: 'pending',
      attempt_count: 0,
      next_attempt_at: now,
      deadline_at: event.expires_at,
      locked_until: null,
      lease_id: null,
      last_status_code: null,
      last_error: null,
      created_at: now,
      updated_at: now,
    };
    // The unique (event, subscription) pair makes a repeated fan-out of one event harmless.
    await executor
      .insertInto('webhook_deliveries')
      .values(row)
      .onConflict((oc) => oc.columns(['event_id', 'subscription_id']).doNothing())
      .execute();
    return row;
  }

  private async find(executor: Executor, accountId: string, deliveryId: string): Promise<DeliveryRow> {
    const row = await executor.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).where('account_id', '=', accountId).executeTakeFirst();
    if (!row) throw deliveryNotFound(deliveryId);
    return row;
  }
}

const subscriptionDisabled = (id: string) => apiError('subscription_disabled', `Webhook subscription ${id} is disabled; enable it first.`);

export function toDeliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    eventId: row.event_id,
    eventName: row.event_name,
    subscriptionId: row.subscription_id,
    status: row.status,
    attemptCount: row.attempt_count,
    nextAttemptAt: row.status === 'pending' ? isoTime(row.next_attempt_at) : null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}

function toAttemptView(row: Selectable<WebhookDeliveryAttemptsTable>): AttemptView {
  return { attempt: row.attempt, startedAt: isoTime(row.started_at), durationMs: row.duration_ms, statusCode: row.status_code, error: row.error };
}

/**
 * Retention: deletes up to `limit` of the account's ended deliveries (succeeded or failed) last changed at or before
 * `endedBefore`, with their attempts; returns how many this call deleted. The rows are claimed first (skipping those
 * another instance holds), so instances running retention at once delete disjoint sets and each row is counted once.
 */
export async function deleteEndedDeliveries(
  store: Pick<Store, 'claimForUpdate'>,
  trx: Tx,
  where: { accountId: string; endedBefore: number; limit: number },
): Promise<number> {
  const query = trx
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('account_id', '=', where.accountId)
    .where('status', 'in', ['succeeded', 'failed'])
    .where('updated_at', '<=', where.endedBefore)
    .orderBy('updated_at')
    .limit(where.limit);
  const ids = (await store.claimForUpdate(query).execute()).map((row) => row.id);
  if (ids.length === 0) return 0;
  await trx.deleteFrom('webhook_delivery_attempts').where('delivery_id', 'in', ids).execute();
  const result = await trx.deleteFrom('webhook_deliveries').where('id', 'in', ids).executeTakeFirst();
  return Number(result.numDeletedRows);
}
