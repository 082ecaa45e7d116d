import type { Selectable } from 'kysely';
import type { AuditLog } from '../audit/log.js';
import type { Config } from '../config.js';
import type { RequestMeta } from '../http/request-meta.js';
import { apiError, errors } from '../shared/errors.js';
import type { DataCipher } from '../security/keyring.js';
import type { Db, Executor, Store } from '../store/database.js';
import { isoTime, type Clock, type RandomSource } from '../shared/runtime.js';
import { generateWebhookSecret } from './signer.js';
import { parseWebhookUrl, resolveWebhookTarget, WebhookTargetRefused, type Resolver } from './ssrf.js';
import type { WebhookSubscriptionsTable } from './tables.js';

/**
 * Webhook subscriptions of an account. Secrets are generated here, shown once (at creation and rotation) and kept
 * sealed, because signing needs them in clear. Target URLs are sealed too, because their paths and query strings often
 * carry tokens: the account's own API clients see them, the database does not. Every change is audited in the same
 * database transaction; audit items name the target host only.
 */
export type SubscriptionRow = Selectable<WebhookSubscriptionsTable>;

export interface SubscriptionView {
  id: string;
  name: string;
  url: string;
  /** null: every event. */
  eventNames: string[] | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SubscriptionInput {
  name: string;
  url: string;
  eventNames?: string[] | null;
}

export interface SubscriptionPatch {
  name?: string;
  url?: string;
  eventNames?: string[] | null;
  enabled?: boolean;
}

export const MAX_SUBSCRIPTIONS_PER_ACCOUNT = 50;

export const subscriptionNotFound = (id: string) => apiError('subscription_not_found', `No webhook subscription with ID ${id} exists for this account.`);

export class WebhookSubscriptions {
  constructor(
    private readonly deps: {
      db: Db;
      write: Store['write'];
      clock: Clock;
      random: RandomSource;
      cipher: DataCipher;
      audit: AuditLog;
      config: Config['webhooks'];
      resolve: Resolver;
    },
  ) {}

  async create(accountId: string, input: SubscriptionInput, meta: RequestMeta): Promise<SubscriptionView & { secret: string }> {
    await this.checkUrl(input.url);
    const now = this.deps.clock.now();
    const id = this.deps.random.uuid();
    const secret = generateWebhookSecret(this.deps.random);
    const row: SubscriptionRow = {
      id,
      account_id: accountId,
      name: input.name,
      url: '',
      url_sealed: this.sealUrl(id, input.url),
      event_names: encodeEventNames(input.eventNames),
      secret_sealed: this.sealSecret(id, secret),
      previous_secret_sealed: null,
      previous_secret_expires_at: null,
      disabled_at: null,
      disabled_reason: null,
      created_at: now,
      updated_at: now,
    };
    await this.deps.write(async (trx) => {
      const count = await trx
        .selectFrom('webhook_subscriptions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', accountId)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_SUBSCRIPTIONS_PER_ACCOUNT) {
        throw apiError('subscription_limit_reached', `An account can hold at most ${MAX_SUBSCRIPTIONS_PER_ACCOUNT} webhook subscriptions.`);
      }
      await trx.insertInto('webhook_subscriptions').values(row).execute();
      await this.audit(trx, 'subscription.created', 'Webhook subscription created', row, meta);
    });
    return { ...this.toView(row), secret };
  }

  async list(accountId: string): Promise<SubscriptionView[]> {
    const rows = await this.deps.db
      .selectFrom('webhook_subscriptions')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((row) => this.toView(row));
  }

  async get(accountId: string, id: string): Promise<SubscriptionView> {
    return this.toView(await this.find(this.deps.db, accountId, id));
  }

  async update(accountId: string, id: string, patch: SubscriptionPatch, meta: RequestMeta): Promise<SubscriptionView> {
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    return this.deps.write(async (trx) => {
      const current = await this.find(trx, accountId, id);
      const now = this.deps.clock.now();
      const updated: SubscriptionRow = {
        ...current,
        name: patch.name ?? current.name,
        // Sealed on every update: a row written before migration 008 leaves the clear column when it is touched.
        url: '',
        url_sealed: this.sealUrl(id, patch.url ?? this.urlOf(current)),
        event_names: patch.eventNames === undefined ? current.event_names : encodeEventNames(patch.eventNames),
        ...(patch.enabled === undefined ? {} : enabledColumns(patch.enabled, current, now, 'disabled_by_client')),
        updated_at: now,
      };
      await trx.updateTable('webhook_subscriptions').set(updated).where('id', '=', id).execute();
      await this.audit(trx, 'subscription.updated', 'Webhook subscription updated', updated, meta, { changed: Object.keys(patch).sort() });
      return this.toView(updated);
    });
  }

  async delete(accountId: string, id: string, meta: RequestMeta): Promise<void> {
    await this.deps.write(async (trx) => {
      const current = await this.find(trx, accountId, id);
      await trx.deleteFrom('webhook_subscriptions').where('id', '=', id).execute();
      await this.audit(trx, 'subscription.deleted', 'Webhook subscription deleted', current, meta);
    });
  }

  /** A new secret; the previous one keeps signing (beside the new one) for the configured overlap. */
  async rotateSecret(accountId: string, id: string, meta: RequestMeta): Promise<SubscriptionView & { secret: string }> {
    const secret = generateWebhookSecret(this.deps.random);
    return this.deps.write(async (trx) => {
      const current = await this.find(trx, accountId, id);
      const now = this.deps.clock.now();
      const previousExpiresAt = now + this.deps.config.secretOverlapSeconds * 1000;
      const updated: SubscriptionRow = {
        ...current,
        secret_sealed: this.sealSecret(id, secret),
        previous_secret_sealed: current.secret_sealed,
        previous_secret_expires_at: previousExpiresAt,
        updated_at: now,
      };
      await trx.updateTable('webhook_subscriptions').set(updated).where('id', '=', id).execute();
      await this.audit(trx, 'subscription.secret_rotated', 'Webhook subscription secret rotated', updated, meta, {
        previousSecretValidUntil: isoTime(previousExpiresAt),
      });
      return { ...this.toView(updated), secret };
    });
  }

  /** Called by delivery when the receiver answers 410 Gone: the endpoint asked never to be called again. */
  async disableGone(executor: Executor, row: SubscriptionRow): Promise<void> {
    const now = this.deps.clock.now();
    const result = await executor
      .updateTable('webhook_subscriptions')
      .set({ disabled_at: now, disabled_reason: 'gone', updated_at: now })
      .where('id', '=', row.id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1)
      await this.audit(executor, 'subscription.disabled', 'Webhook subscription disabled: the endpoint answered 410 Gone', { ...row, disabled_at: now }, {});
  }

  /** The secrets that sign a message sent now: the current one, then the previous one during its overlap. */
  signingSecrets(row: SubscriptionRow, now: number): string[] {
    const secrets = [this.openSecret(row.id, row.secret_sealed)];
    if (row.previous_secret_sealed && (row.previous_secret_expires_at ?? 0) > now) secrets.push(this.openSecret(row.id, row.previous_secret_sealed));
    return secrets;
  }

  /** The subscription's target URL, opened; a row not sealed yet (written before migration 008) still holds it in clear. */
  urlOf(row: Pick<SubscriptionRow, 'id' | 'url' | 'url_sealed'>): string {
    return row.url_sealed === null ? row.url : this.deps.cipher.open(row.url_sealed, urlContext(row.id)).toString('utf8');
  }

  /**
   * Seals the URLs still in clear (rows written before migration 008, which could not seal them without the master
   * key) and clears the clear column. Run at every start; each row is updated only if nobody changed it meanwhile, so
   * instances starting together, or an older instance still writing, never lose a URL. Returns how many it sealed.
   */
  async sealClearUrls(): Promise<number> {
    const rows = await this.deps.db.selectFrom('webhook_subscriptions').select(['id', 'url']).where('url_sealed', 'is', null).execute();
    let sealed = 0;
    for (const row of rows) {
      const result = await this.deps.write((trx) =>
        trx
          .updateTable('webhook_subscriptions')
          .set({ url: '', url_sealed: this.sealUrl(row.id, row.url) })
          .where('id', '=', row.id)
          .where('url_sealed', 'is', null)
          .where('url', '=', row.url)
          .executeTakeFirst(),
      );
      sealed += Number(result.numUpdatedRows);
    }
    return sealed;
  }

  async find(executor: Executor, accountId: string, id: string): Promise<SubscriptionRow> {
    const row = await executor.selectFrom('webhook_subscriptions').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
    if (!row) throw subscriptionNotFound(id);
    return row;
  }

  private async checkUrl(text: string): Promise<void> {
    try {
      const url = parseWebhookUrl(text, this.deps.config.allowPrivate);
      await resolveWebhookTarget(url, { allowPrivate: this.deps.config.allowPrivate, resolve: this.deps.resolve });
    } catch (error) {
      if (!(error instanceof WebhookTargetRefused)) throw error;
      throw errors.invalidParameters([{ name: 'url', reason: error.message }], `The webhook URL was refused: ${error.message}.`);
    }
  }

  private audit(executor: Executor, eventType: string, message: string, row: SubscriptionRow, meta: RequestMeta, extra: Record<string, unknown> = {}) {
    return this.deps.audit.append(executor, {
      accountId: row.account_id,
      eventType,
      message,
      clientId: meta.clientId ?? null,
      traceId: meta.traceId ?? null,
      ipAddress: meta.ipAddress ?? null,
      referenceId: row.id,
      data: {
        subscriptionId: row.id,
        host: new URL(this.urlOf(row)).host,
        eventNames: decodeEventNames(row.event_names),
        enabled: row.disabled_at === null,
        ...extra,
      },
    });
  }

  private toView(row: SubscriptionRow): SubscriptionView {
    return {
      id: row.id,
      name: row.name,
      url: this.urlOf(row),
      eventNames: decodeEventNames(row.event_names),
      enabled: row.disabled_at === null,
      disabledReason: row.disabled_reason,
      createdAt: isoTime(row.created_at),
      updatedAt: isoTime(row.updated_at),
    };
  }

  private sealUrl(id: string, url: string): string {
    return this.deps.cipher.seal(url, urlContext(id));
  }

  private sealSecret(id: string, secret: string): string {
    return this.deps.cipher.seal(secret, secretContext(id));
  }

  private openSecret(id: string, sealed: string): string {
    return this.deps.cipher.open(sealed, secretContext(id)).toString('utf8');
  }
}

const secretContext = (subscriptionId: string) => `webhook-secret:${subscriptionId}`;
const urlContext = (subscriptionId: string) => `webhook-url:${subscriptionId}`;

function enabledColumns(enabled: boolean, current: SubscriptionRow, now: number, reason: string): Pick<SubscriptionRow, 'disabled_at' | 'disabled_reason'> {
  if (enabled) return { disabled_at: null, disabled_reason: null };
  return current.disabled_at === null
    ? { disabled_at: now, disabled_reason: reason }
    : { disabled_at: current.disabled_at, disabled_reason: current.disabled_reason };
}

const encodeEventNames = (names: string[] | null | undefined): string | null => (names?.length ? JSON.stringify([...new Set(names)]) : null);

export const decodeEventNames = (text: string | null): string[] | null => (text === null ? null : (JSON.parse(text) as string[]));
