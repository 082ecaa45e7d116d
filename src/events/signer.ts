import { createHmac } from 'node:crypto';
import type { RandomSource } from '../shared/runtime.js';

/**
 * Standard Webhooks symmetric signatures (scheme v1): HMAC-SHA256 over `${id}.${timestamp}.${body}` with a secret
 * shown as `whsec_` + base64. Several secrets give several space-separated signatures, which is how a rotated
 * secret keeps working on receivers that have not switched yet.
 */
const SECRET_PREFIX = 'whsec_';
/** Within the spec's 24–64 bytes. */
const SECRET_BYTES = 32;

export function generateWebhookSecret(random: RandomSource): string {
  return SECRET_PREFIX + random.bytes(SECRET_BYTES).toString('base64');
}

export function webhookSignature(secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): string {
  return secrets.map((secret) => `v1,${sign(secret, `${messageId}.${timestampSeconds}.${body}`)}`).join(' ');
}

function sign(secret: string, content: string): string {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  return createHmac('sha256', key).update(content, 'utf8').digest('base64');
}
