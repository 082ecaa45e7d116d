import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { webhookSignature } from '../../src/events/signer.js';
import { BIN } from '../support/server-process.js';
import { runReuseid } from './support.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 8).toString('base64')}`;

/** Starts `reuseid webhooks listen` on a free port; yields its JSON lines and its exit code. */
function listen(...extra: string[]) {
  const child = spawn('node', [BIN, 'webhooks', 'listen', '--port', '0', '--secret', SECRET, '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const nextLine = async () => JSON.parse(((await lines.next()).value as string | undefined) ?? 'null') as Record<string, any>;
  return { child, nextLine, exited };
}

function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then((r) => r.status);
}

const envelope = JSON.stringify({ id: 'evt1', eventName: 'reuseid.onboarding.completed', eventData: { transactionId: 'tx-1' } });
const signed = (secrets: string[], id: string, timestamp: number, body = envelope) => ({
  'webhook-id': id,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': webhookSignature(secrets, id, timestamp, body),
});

describe('reuseid webhooks listen', { timeout: 60_000 }, () => {
  it('answers 401 to wrong, stale and unsigned deliveries, 204 to a signed one, prints a line for each, and stops after --max-deliveries', async () => {
    const listener = listen('--max-deliveries', '1');
    const { listening } = await listener.nextLine();
    expect(listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const now = Math.floor(Date.now() / 1000);

    expect(await post(listening, envelope, signed([OTHER_SECRET], 'msg_wrong', now))).toBe(401);
    expect(await listener.nextLine()).toEqual({ webhookId: 'msg_wrong', eventName: null, verified: false, reason: 'no matching v1 signature' });
    expect(await post(listening, envelope, signed([SECRET], 'msg_stale', now - 301))).toBe(401);
    expect((await listener.nextLine()).reason).toMatch(/tolerance/);
    expect(await post(listening, envelope, {})).toBe(401);
    expect(await listener.nextLine()).toMatchObject({ webhookId: null, verified: false, reason: expect.stringMatching(/missing/) });
    // A body altered after signing.
    expect(await post(listening, envelope.replace('tx-1', 'tx-2'), signed([SECRET], 'msg_altered', now))).toBe(401);
    expect((await listener.nextLine()).verified).toBe(false);

    // Several signatures (a rotated secret): one matching is enough.
    expect(await post(listening, envelope, signed([OTHER_SECRET, SECRET], 'msg_ok', now))).toBe(204);
    expect(await listener.nextLine()).toEqual({
      webhookId: 'msg_ok',
      eventName: 'reuseid.onboarding.completed',
      verified: true,
      eventData: { transactionId: 'tx-1' },
    });
    expect(await listener.exited).toBe(0);
  });

  it('stops on SIGTERM', async () => {
    const listener = listen();
    await listener.nextLine();
    listener.child.kill('SIGTERM');
    expect(await listener.exited).toBe(0);
  });

  it('refuses a secret that is not whsec_ and base64, as a JSON error', async () => {
    const run = await runReuseid(process.env, 'webhooks', 'listen', '--port', '0', '--secret', 'not-a-secret', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).error.code).toBe('invalid_argument');
  });
});
