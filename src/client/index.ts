import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { AuditItemSchema, AuditPageSchema, AuditQueryBody } from '../audit/schemas.js';
import type {
  DeliveryDetailSchema,
  DeliveryListQuery,
  DeliverySchema,
  SubscriptionCreateBody,
  SubscriptionPatchBody,
  SubscriptionSchema,
  SubscriptionWithSecretSchema,
} from '../events/schemas.js';
import type { onboardingBodySchema, StartOnboardingResponse, StartStepUpResponse, stepUpBodySchema, TransactionDataSchema } from '../flows/schemas.js';
import type { DeviceStateSchema, DeviceViewSchema, UserExportSchema, UserFindResponse, UserSummarySchema, UserViewSchema } from '../identity/schemas.js';
import { invalidResponse, parseJson, ReuseIdError } from './errors.js';
import { TokenSource } from './tokens.js';
import { systemClock, Transport, type ClientClock, type Exchange, type FetchLike, type RetryOptions } from './transport.js';

export { ReuseIdError, WebhookVerificationError } from './errors.js';
export { verifyWebhook, type VerifyWebhookOptions, type WebhookHeaders } from './webhooks.js';
export type { ClientClock, FetchLike, RetryOptions } from './transport.js';
export type { EventEnvelope } from '../events/schemas.js';
export type { InvalidParam } from '../shared/errors.js';

/**
 * The typed client of the ReuseID server for relying parties. Every type is derived from the zod schema the server
 * validates (requests: z.input) or serialises (responses: z.infer) with, so the two cannot drift; at run time the
 * client needs only fetch and node:crypto.
 */
export type StartOnboardingBody = z.input<ReturnType<typeof onboardingBodySchema>>;
export type StartStepUpBody = z.input<ReturnType<typeof stepUpBodySchema>>;
export type StartedOnboarding = z.infer<typeof StartOnboardingResponse>['data'];
export type StartedStepUp = z.infer<typeof StartStepUpResponse>['data'];
export type Transaction = z.infer<typeof TransactionDataSchema>;
export type User = z.infer<typeof UserViewSchema>;
export type UserExport = z.infer<typeof UserExportSchema>;
export type UserSummary = z.infer<typeof UserSummarySchema>;
type UserPage = z.infer<typeof UserFindResponse>;
export type Device = z.infer<typeof DeviceViewSchema>;
export type DeviceState = z.infer<typeof DeviceStateSchema>;
export type SubscriptionCreate = z.input<typeof SubscriptionCreateBody>;
export type SubscriptionUpdate = z.input<typeof SubscriptionPatchBody>;
export type Subscription = z.infer<typeof SubscriptionSchema>;
export type SubscriptionWithSecret = z.infer<typeof SubscriptionWithSecretSchema>;
export type Delivery = z.infer<typeof DeliverySchema>;
export type DeliveryDetail = z.infer<typeof DeliveryDetailSchema>;
/** Page size (1–100, default 50) and the id of the last delivery seen, to continue with older ones. */
export type DeliveryListOptions = Partial<z.infer<typeof DeliveryListQuery>>;
export type AuditQuery = z.input<typeof AuditQueryBody>;
export type AuditItem = z.infer<typeof AuditItemSchema>;
export type AuditPage = z.infer<typeof AuditPageSchema>;

export interface ReuseIdClientOptions {
  /** Where the server is reachable, e.g. https://reuseid.example.com (no trailing path). */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated permissions to ask tokens for; absent: every permission the API client holds. */
  scope?: string;
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
  retry?: RetryOptions;
  /** Per attempt, reading the answer included (default 30 s). */
  timeoutMs?: number;
  /** For tests: time and waiting. */
  clock?: ClientClock;
}

export interface IdempotencyOptions {
  /**
   * Sent as Idempotency-Key (1–255 visible ASCII characters). Give your own, stored with your request, to make a retry
   * after a crash of your process safe too; absent, the client makes one per call and reuses it for its retries.
   */
  idempotencyKey?: string;
}

interface Call {
  method: Exchange['method'];
  path: string;
  body?: unknown;
  /** Safe to send again: reads, and POSTs carrying an Idempotency-Key. */
  retryable: boolean;
  idempotencyKey?: string;
}

export class ReuseIdClient {
  private readonly baseUrl: string;
  private readonly transport: Transport;
  private readonly tokens: TokenSource;

  constructor(options: ReuseIdClientOptions) {
    this.baseUrl = normaliseBaseUrl(options.baseUrl);
    const clock = options.clock ?? systemClock;
    this.transport = new Transport(options.fetch ?? fetch, clock, options.timeoutMs ?? 30_000, options.retry);
    this.tokens = new TokenSource(
      this.baseUrl,
      { clientId: options.clientId, clientSecret: options.clientSecret, ...(options.scope ? { scope: options.scope } : {}) },
      this.transport,
      clock,
    );
  }

  // Onboarding and step-up (permission reuseid-onboarding).

  async startOnboarding(body: StartOnboardingBody = {}, options: IdempotencyOptions = {}): Promise<StartedOnboarding> {
    return (await this.idempotentPost<{ data: StartedOnboarding }>('/reuseid/onboarding', body, options)).data;
  }

  async getOnboarding(transactionId: string): Promise<Transaction> {
    return (await this.get<{ data: Transaction }>(`/reuseid/onboarding/${segment(transactionId)}`)).data;
  }

  async startStepUp(body: StartStepUpBody, options: IdempotencyOptions = {}): Promise<StartedStepUp> {
    return (await this.idempotentPost<{ data: StartedStepUp }>('/reuseid/step-up', body, options)).data;
  }

  async getStepUp(transactionId: string): Promise<Transaction> {
    return (await this.get<{ data: Transaction }>(`/reuseid/step-up/${segment(transactionId)}`)).data;
  }

  // Users (permission reuseid-users).

  async getUser(userId: string): Promise<User> {
    return (await this.get<{ data: User }>(`/reuseid/users/${segment(userId)}`)).data;
  }

  /**
   * Erases the user (GDPR Art. 17): their data key is destroyed, open transactions end Failed (`user_erased`), devices
   * are deactivated. Erasing an erased user succeeds again; DELETE is idempotent, so it is retried like a read.
   */
  async eraseUser(userId: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `/reuseid/users/${segment(userId)}`, retryable: true });
  }

  /** Everything held about the user (GDPR Art. 15); `includeEvidence` adds the evidence contents, base64. */
  async exportUser(userId: string, options: { includeEvidence?: boolean } = {}): Promise<UserExport> {
    const query = options.includeEvidence ? '?include=evidence' : '';
    return (await this.get<{ data: UserExport }>(`/reuseid/users/${segment(userId)}/export${query}`)).data;
  }

  /** The account's users with this externalRef (usually one), every page followed. */
  async findUsers(externalRef: string): Promise<UserSummary[]> {
    const users: UserSummary[] = [];
    let page = await this.get<UserPage>(`/reuseid/users?externalRef=${encodeURIComponent(externalRef)}`);
    for (;;) {
      users.push(...page.items);
      if (page.next === null) return users;
      // Only the cursor is taken from the link: the token never goes to a host named in an answer.
      const cursor = new URL(page.next, this.baseUrl).searchParams.get('cursor');
      if (!cursor) throw new TypeError('Not a users `next` link: it has no cursor.');
      page = await this.get<UserPage>(`/reuseid/users?cursor=${encodeURIComponent(cursor)}`);
    }
  }

  /** Locks, deactivates or reactivates a device (a deactivated one cannot be reactivated). */
  async setDeviceState(userId: string, deviceId: string, state: DeviceState): Promise<Device> {
    const path = `/reuseid/users/${segment(userId)}/devices/${segment(deviceId)}`;
    return (await this.call<{ data: Device }>({ method: 'PATCH', path, body: { state }, retryable: false })).data;
  }

  // Webhook subscriptions and deliveries (permission events). Changes are not retried: they carry no Idempotency-Key.

  /** The answer holds the signing secret, shown only here: store it for verifyWebhook. */
  createSubscription(body: SubscriptionCreate): Promise<SubscriptionWithSecret> {
    return this.call({ method: 'POST', path: '/events/subscriptions', body, retryable: false });
  }

  async listSubscriptions(): Promise<Subscription[]> {
    return (await this.get<{ items: Subscription[] }>('/events/subscriptions')).items;
  }

  getSubscription(id: string): Promise<Subscription> {
    return this.get(`/events/subscriptions/${segment(id)}`);
  }

  updateSubscription(id: string, body: SubscriptionUpdate): Promise<Subscription> {
    return this.call({ method: 'PATCH', path: `/events/subscriptions/${segment(id)}`, body, retryable: false });
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `/events/subscriptions/${segment(id)}`, retryable: false });
  }

  /** The new secret; the previous one keeps signing beside it for the server's overlap period. */
  rotateSubscriptionSecret(id: string): Promise<SubscriptionWithSecret> {
    return this.call({ method: 'POST', path: `/events/subscriptions/${segment(id)}/rotate-secret`, retryable: false });
  }

  /** Queues a webhook.test event for this subscription; follow it with getDelivery. */
  sendTestEvent(id: string): Promise<Delivery> {
    return this.call({ method: 'POST', path: `/events/subscriptions/${segment(id)}/test`, retryable: false });
  }

  /** Newest first; pass the last id as `before` for the next page. */
  async listDeliveries(subscriptionId: string, options: DeliveryListOptions = {}): Promise<Delivery[]> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.before !== undefined) query.set('before', options.before);
    const suffix = query.size ? `?${query}` : '';
    return (await this.get<{ items: Delivery[] }>(`/events/subscriptions/${segment(subscriptionId)}/deliveries${suffix}`)).items;
  }

  getDelivery(deliveryId: string): Promise<DeliveryDetail> {
    return this.get(`/events/deliveries/${segment(deliveryId)}`);
  }

  redeliver(deliveryId: string): Promise<Delivery> {
    return this.call({ method: 'POST', path: `/events/deliveries/${segment(deliveryId)}/redeliver`, retryable: false });
  }

  // Audit (permission audit). A query only reads, so although it is a POST it is retried like a GET.

  /** The first page, newest first; continue with nextAuditPage(page.next) until next is null, or use auditItems(). */
  queryAudit(body: AuditQuery = {}): Promise<AuditPage> {
    return this.call({ method: 'POST', path: '/audit/query', body, retryable: true });
  }

  /**
   * The page a `next` link points at. Only its cursor is taken: the request goes to this client's baseUrl, so the
   * access token is never sent to a host named in an answer.
   */
  async nextAuditPage(next: string): Promise<AuditPage> {
    const cursor = new URL(next, this.baseUrl).searchParams.get('cursor');
    if (!cursor) throw new TypeError('Not an audit `next` link: it has no cursor.');
    return this.call({ method: 'POST', path: `/audit/query?cursor=${encodeURIComponent(cursor)}`, retryable: true });
  }

  /** Every item of a query, page after page. */
  async *auditItems(body: AuditQuery = {}): AsyncGenerator<AuditItem, void, undefined> {
    let page = await this.queryAudit(body);
    for (;;) {
      yield* page.items;
      if (page.next === null) return;
      page = await this.nextAuditPage(page.next);
    }
  }

  getAuditItem(cursor: string): Promise<AuditItem> {
    return this.get(`/audit/items/${segment(cursor)}`);
  }

  private get<T>(path: string): Promise<T> {
    return this.call({ method: 'GET', path, retryable: true });
  }

  private idempotentPost<T>(path: string, body: unknown, options: IdempotencyOptions): Promise<T> {
    return this.call({ method: 'POST', path, body, retryable: true, idempotencyKey: options.idempotencyKey ?? randomUUID() });
  }

  /** One logical call: a token, the exchange, and once more with a fresh token if the server refused this one. */
  private async call<T>(call: Call): Promise<T> {
    const token = await this.tokens.get();
    try {
      return await this.exchange<T>(call, token);
    } catch (error) {
      if (!(error instanceof ReuseIdError && error.status === 401 && error.code === 'invalid_token')) throw error;
      // Revoked, or the signing key rotated: a 401 comes before the request is handled, so sending again is safe.
      this.tokens.invalidate(token);
      return this.exchange<T>(call, await this.tokens.get());
    }
  }

  private async exchange<T>(call: Call, token: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey;
    const response = await this.transport.exchange({
      method: call.method,
      url: this.baseUrl + call.path,
      headers,
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      retryable: call.retryable,
    });
    return readBody<T>(response);
  }
}

async function readBody<T>(response: Response): Promise<T> {
  if (response.status === 204) return undefined as T;
  const body = parseJson(await response.text());
  if (typeof body !== 'object' || body === null)
    throw invalidResponse(response.status, 'The server answered without a JSON object.', response.headers.get('x-trace-id') ?? undefined);
  return body as T;
}

/** Without a trailing slash, so that paths append; a malformed URL fails here rather than at the first call. */
function normaliseBaseUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.search || url.hash) throw new TypeError('baseUrl must not carry a query or a fragment.');
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** A path segment: ids come from callers and answers, and must not change the path. */
function segment(value: string): string {
  return encodeURIComponent(value);
}
