import type { AuditLog } from '../audit/log.js';
import type { Config } from '../config.js';
import type { DataCipher } from '../security/keyring.js';
import type { Store } from '../store/database.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import { WebhookDeliveries } from './deliveries.js';
import type { Outbox } from './outbox.js';
import { systemResolver, type Resolver } from './ssrf.js';
import { WebhookSubscriptions } from './subscriptions.js';
import type { postWebhook } from './transport.js';
import { WebhookWorker } from './worker.js';

/** The webhook services, wired once for the composition root (context.ts). */
export interface Webhooks {
  subscriptions: WebhookSubscriptions;
  deliveries: WebhookDeliveries;
  worker: WebhookWorker;
}

export function createWebhooks(deps: {
  store: Store;
  clock: Clock;
  random: RandomSource;
  cipher: DataCipher;
  audit: AuditLog;
  outbox: Outbox;
  config: Config['webhooks'];
  resolve?: Resolver;
  post?: typeof postWebhook;
}): Webhooks {
  const resolve = deps.resolve ?? systemResolver;
  const subscriptions = new WebhookSubscriptions({
    db: deps.store.db,
    write: deps.store.write,
    clock: deps.clock,
    random: deps.random,
    cipher: deps.cipher,
    audit: deps.audit,
    config: deps.config,
    resolve,
  });
  const deliveries = new WebhookDeliveries({
    db: deps.store.db,
    write: deps.store.write,
    clock: deps.clock,
    random: deps.random,
    outbox: deps.outbox,
    subscriptions,
  });
  const worker = new WebhookWorker({
    store: deps.store,
    clock: deps.clock,
    random: deps.random,
    cipher: deps.cipher,
    subscriptions,
    deliveries,
    config: deps.config,
    resolve,
    ...(deps.post ? { post: deps.post } : {}),
  });
  return { subscriptions, deliveries, worker };
}
