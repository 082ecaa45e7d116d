/** Row types of the tables added by migrations/002_events.ts, merged into the shared Database interface. */
export interface WebhookSubscriptionsTable {
  id: string;
  account_id: string;
  name: string;
  /** The target URL in clear, only on rows written before migration 008 and not yet sealed; '' once sealed. */
  url: string;
  /** The target URL sealed with the server cipher (it may carry tokens); null only on rows not yet sealed. */
  url_sealed: string | null;
  /** JSON array of event names, or null for every event. */
  event_names: string | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: number | null;
  disabled_at: number | null;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDeliveriesTable {
  id: string;
  account_id: string;
  event_id: string;
  event_name: string;
  subscription_id: string;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: number;
  deadline_at: number;
  locked_until: number | null;
  lease_id: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

declare module '../store/schema.js' {
  interface Database {
    webhook_subscriptions: WebhookSubscriptionsTable;
    webhook_deliveries: WebhookDeliveriesTable;
    webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  }
}
