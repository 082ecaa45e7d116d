import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, WebhookVerificationError } from '../../src/client/index.js';
import { webhookSignature } from '../../src/events/signer.js';

/** verifyWebhook against the server's own signer and the standardwebhooks reference implementation. */
const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;
const NOW = Date.parse('2026-03-01T12:00:00Z');
const NOW_SECONDS = NOW / 1000;
const ENVELOPE = {
  id: 'evt1',
  timestamp: '2026-03-01T12:00:00.000Z',
  sender: 'reuseid',
  eventName: 'webhook.test',
  eventData: { message: 'hi – ü' },
  accountId: 'a',
  organizationId: null,
  expiresAt: '2026-03-04T12:00:00.000Z',
  tags: ['mock'],
};
const BODY = JSON.stringify(ENVELOPE);

function signed(secrets: string[], { id = 'evt1', timestamp = NOW_SECONDS, body = BODY } = {}) {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': webhookSignature(secrets, id, timestamp, body) };
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('verifyWebhook', () => {
  it('accepts what the server signs and returns the envelope', () => {
    expect(verifyWebhook(signed([SECRET]), BODY, SECRET, { now: NOW })).toEqual(ENVELOPE);
  });

  it('accepts the body as bytes, headers as a Headers object or in any letter case', () => {
    const headers = signed([SECRET]);
    expect(verifyWebhook(new Headers(headers), Buffer.from(BODY, 'utf8'), SECRET, { now: NOW }).id).toBe('evt1');
    const shouting = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    expect(verifyWebhook(shouting, new TextEncoder().encode(BODY), SECRET, { now: NOW }).eventName).toBe('webhook.test');
  });

  it('accepts any matching signature of several (a rotation overlap), with the old or the new secret', () => {
    const headers = signed([OTHER_SECRET, SECRET]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(refusal(() => verifyWebhook(headers, BODY, SECRET, { now: NOW }))).toBe('accepted');
    expect(refusal(() => verifyWebhook(headers, BODY, OTHER_SECRET, { now: NOW }))).toBe('accepted');
  });

  it('agrees with the standardwebhooks reference implementation', () => {
    const signature = new Webhook(SECRET).sign('msg_2', new Date(NOW), BODY);
    const headers = { 'webhook-id': 'msg_2', 'webhook-timestamp': String(NOW_SECONDS), 'webhook-signature': signature };
    expect(verifyWebhook(headers, BODY, SECRET, { now: NOW }).id).toBe('evt1');
    expect(new Webhook(SECRET).verify(BODY, signed([SECRET], { timestamp: Math.floor(Date.now() / 1000) }))).toEqual(ENVELOPE);
  });

  it('refuses another secret, a changed body, id or timestamp, and signatures of another scheme', () => {
    const headers = signed([SECRET]);
    expect(refusal(() => verifyWebhook(headers, BODY, OTHER_SECRET, { now: NOW }))).toBe('webhook_signature_invalid');
    expect(refusal(() => verifyWebhook(headers, BODY.replace('hi', 'ho'), SECRET, { now: NOW }))).toBe('webhook_signature_invalid');
    expect(refusal(() => verifyWebhook({ ...headers, 'webhook-id': 'evt2' }, BODY, SECRET, { now: NOW }))).toBe('webhook_signature_invalid');
    expect(refusal(() => verifyWebhook({ ...headers, 'webhook-timestamp': String(NOW_SECONDS - 1) }, BODY, SECRET, { now: NOW }))).toBe(
      'webhook_signature_invalid',
    );
    const v2 = headers['webhook-signature'].replace('v1,', 'v2,');
    expect(refusal(() => verifyWebhook({ ...headers, 'webhook-signature': v2 }, BODY, SECRET, { now: NOW }))).toBe('webhook_signature_invalid');
    expect(refusal(() => verifyWebhook({ ...headers, 'webhook-signature': 'v1,' }, BODY, SECRET, { now: NOW }))).toBe('webhook_signature_invalid');
  });

  it('refuses timestamps outside the tolerance either way, and malformed ones', () => {
    const at = (offsetSeconds: number, toleranceSeconds?: number) =>
      refusal(() =>
        verifyWebhook(signed([SECRET], { timestamp: NOW_SECONDS + offsetSeconds }), BODY, SECRET, {
          now: NOW,
          ...(toleranceSeconds ? { toleranceSeconds } : {}),
        }),
      );
    expect(at(-300)).toBe('accepted');
    expect(at(300)).toBe('accepted');
    expect(at(-301)).toBe('webhook_timestamp_out_of_tolerance');
    expect(at(301)).toBe('webhook_timestamp_out_of_tolerance');
    expect(at(-301, 600)).toBe('accepted');
    expect(at(-61, 60)).toBe('webhook_timestamp_out_of_tolerance');
    expect(refusal(() => verifyWebhook({ ...signed([SECRET]), 'webhook-timestamp': '1.7e9' }, BODY, SECRET, { now: NOW }))).toBe('webhook_timestamp_invalid');
  });

  it('refuses missing or repeated headers and a signed body that is not JSON', () => {
    const { 'webhook-signature': _signature, ...unsigned } = signed([SECRET]);
    expect(refusal(() => verifyWebhook(unsigned, BODY, SECRET, { now: NOW }))).toBe('webhook_headers_missing');
    expect(refusal(() => verifyWebhook({ ...signed([SECRET]), 'webhook-id': ['evt1', 'evt1'] }, BODY, SECRET, { now: NOW }))).toBe('webhook_headers_missing');
    expect(refusal(() => verifyWebhook(signed([SECRET], { body: 'not json' }), 'not json', SECRET, { now: NOW }))).toBe('webhook_body_invalid');
  });

  it('treats a secret that is not base64 as a configuration error, not as a bad delivery', () => {
    expect(() => verifyWebhook(signed([SECRET]), BODY, 'whsec_not base64!', { now: NOW })).toThrow(TypeError);
  });
});
