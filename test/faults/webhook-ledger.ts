import { startReceiver, verifyDelivery, type Receiver, type Reply } from '../events/receiver.js';

/**
 * A webhook receiver that verifies every request with the `standardwebhooks` package and keeps the books: which
 * event (webhook-id) it accepted how often, for which transaction, and what it refused. A receiver processes an
 * event before it answers, so an event counts as accepted when the receiver decides to answer 2xx, even if the
 * sender died before reading the answer; the sender's retry of it then shows up as a duplicate.
 */
export interface LedgerSummary {
  /** Distinct events accepted. */
  events: number;
  /** Accepted again under the same webhook-id (retries of an event already processed). */
  duplicates: number;
  /** Requests answered with a failure status while the receiver played down. */
  refusedWithStatus: number;
  invalidSignatures: number;
}

export class WebhookLedger {
  /** webhook-id → how many times it was accepted. */
  readonly accepted = new Map<string, number>();
  /** webhook-id → the transaction its event reports. */
  readonly transactionOf = new Map<string, string>();
  refusedWithStatus = 0;
  invalidSignatures = 0;
  inFlight = 0;
  /** What the receiver answers; a delay keeps deliveries in flight (and their leases held) for a while. */
  reply: Reply = { status: 204 };
  delayMs = 0;
  secret = '';

  private constructor(readonly receiver: Receiver) {
    receiver.respond = async (request) => {
      this.inFlight++;
      try {
        await new Promise((resolve) => setTimeout(resolve, this.delayMs));
        return this.record(request.body, request.headers as Record<string, string>);
      } finally {
        this.inFlight--;
      }
    };
  }

  static async start(): Promise<WebhookLedger> {
    return new WebhookLedger(await startReceiver());
  }

  get url(): string {
    return this.receiver.url;
  }

  /** The events (webhook-ids) accepted for these transactions, failing loudly on a transaction with several. */
  eventsFor(transactionIds: Iterable<string>): Map<string, string[]> {
    const byTransaction = new Map<string, string[]>([...transactionIds].map((id) => [id, []]));
    for (const [eventId, transactionId] of this.transactionOf) byTransaction.get(transactionId)?.push(eventId);
    return byTransaction;
  }

  summary(): LedgerSummary {
    const counts = [...this.accepted.values()];
    return {
      events: counts.length,
      duplicates: counts.reduce((sum, n) => sum + n - 1, 0),
      refusedWithStatus: this.refusedWithStatus,
      invalidSignatures: this.invalidSignatures,
    };
  }

  private record(body: string, headers: Record<string, string>): Reply {
    let event: { id: string; eventData: { transactionId: string } };
    try {
      event = verifyDelivery(this.secret, { path: '', headers, body }) as typeof event;
    } catch {
      this.invalidSignatures++;
      return { status: 400 };
    }
    if (this.reply.status >= 300) {
      this.refusedWithStatus++;
      return this.reply;
    }
    const eventId = headers['webhook-id']!;
    if (event.id !== eventId) this.invalidSignatures++;
    this.accepted.set(eventId, (this.accepted.get(eventId) ?? 0) + 1);
    this.transactionOf.set(eventId, event.eventData.transactionId);
    return this.reply;
  }
}
