import { z } from 'zod';

/**
 * The published catalogue of event names: what the server emits and what webhook subscriptions may name. The outbox
 * only takes these names, so a new event cannot be emitted without being published here.
 */
export const EVENT_NAMES = [
  // The transaction state machine (flows/state.ts): one event per transition, carrying the Get data.
  'onboarding.activated',
  'onboarding.review_started',
  'onboarding.capture_requested',
  'onboarding.completed',
  'onboarding.failed',
  'onboarding.expired',
  'stepup.approved',
  'stepup.review_started',
  'stepup.capture_requested',
  'stepup.completed',
  'stepup.failed',
  'stepup.expired',
  'device.activated',
  'device.state.change',
  // Erasure (identity/lifecycle.ts): {userId, erasedAt, endedTransactionIds, deactivatedDeviceIds}, no personal data.
  'user.erased',
  // Credential issuance (credentials/): {userId, credentialId(s), configurationId, expiresAt | reason}, no claim values.
  'credential.issued',
  'credential.revoked',
  'webhook.test',
] as const;

export type EventName = (typeof EVENT_NAMES)[number];

export const EventNameSchema = z.enum(EVENT_NAMES);
