import type { Executor } from '../store/database.js';
import type { DataCipher } from '../security/keyring.js';
import type { EventName } from './catalogue.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import { isoTime } from '../shared/runtime.js';
import type { EventEnvelope } from './schemas.js';

/** How long delivery is retried: Standard Webhooks' example schedule spans about three days. */
export const EVENT_RETENTION_MS = 3 * 24 * 3600 * 1000;
/** How long an expired event (personal data, sealed) and its delivery log are kept for support, then erased. */
export const EVENT_LOG_RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * Events in the Signicat envelope, written to the outbox inside the same database transaction as the change that
 * caused them: no change without its event, no event without its change. Delivery reads the outbox. Event data
 * holds personal data (the same object the Get endpoints return), so the stored envelope is sealed.
 */
export class Outbox {
  constructor(private readonly deps: { clock: Clock; random: RandomSource; cipher: DataCipher }) {}

  /** `options.userId`: the user whose personal data `eventData` carries, so that erasing them can redact it. */
  async enqueue<T>(
    executor: Executor,
    accountId: string,
    eventName: EventName,
    eventData: T,
    options: { tags?: string[]; userId?: string } = {},
  ): Promise<EventEnvelope<T>> {
    const tags = options.tags ?? [];
    const now = this.deps.clock.now();
    const envelope: EventEnvelope<T> = {
      id: this.deps.random.uuid().replace(/-/g, ''),
      timestamp: isoTime(now),
      sender: 'reuseid',
      eventName,
      eventData,
      accountId,
      organizationId: null,
      expiresAt: isoTime(now + EVENT_RETENTION_MS),
      tags,
    };
    await executor
      .insertInto('outbox_events')
      .values({
        id: envelope.id,
        account_id: accountId,
        event_name: eventName,
        envelope: this.deps.cipher.sealJson(envelope, envelopeContext(envelope.id)),
        created_at: now,
        expires_at: now + EVENT_RETENTION_MS,
        dispatched_at: null,
        user_id: options.userId ?? null,
      })
      .execute();
    return envelope;
  }

  /**
   * Erasure: the user's events keep their place in the outbox and the delivery log, but lose the personal data
   * (`userData`), as the Get endpoints do once the user's key is gone; a delivery still pending sends the redacted
   * event. Returns how many events were redacted.
   */
  async redactUser(executor: Executor, userId: string): Promise<number> {
    const rows = await executor.selectFrom('outbox_events').select(['id', 'envelope']).where('user_id', '=', userId).execute();
    for (const row of rows) {
      const envelope = openEnvelope(this.deps.cipher, row.id, row.envelope) as EventEnvelope<Record<string, unknown>>;
      const { userData: _erased, ...eventData } = envelope.eventData ?? {};
      const redacted = this.deps.cipher.sealJson({ ...envelope, eventData }, envelopeContext(row.id));
      await executor.updateTable('outbox_events').set({ envelope: redacted, user_id: null }).where('id', '=', row.id).execute();
    }
    return rows.length;
  }
}

export const envelopeContext = (eventId: string): string => `outbox:${eventId}`;

export function openEnvelope(cipher: DataCipher, eventId: string, sealed: string): EventEnvelope {
  return cipher.openJson<EventEnvelope>(sealed, envelopeContext(eventId));
}

/** Erases events (with their deliveries and attempts, by cascade) whose delivery window closed long enough ago. */
export async function purgeExpiredEvents(executor: Executor, now: number): Promise<void> {
  await executor
    .deleteFrom('outbox_events')
    .where('expires_at', '<', now - EVENT_LOG_RETENTION_MS)
    .where('dispatched_at', 'is not', null)
    .execute();
}
