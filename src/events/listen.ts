import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { CliError } from '../cli/errors.js';
import { safeEqual } from '../security/keyring.js';
import { systemClock, type Clock } from '../shared/runtime.js';
import { webhookSignature } from './signer.js';

/**
 * `reuseid webhooks listen`: a local receiver for checking a subscription end to end. It verifies Standard Webhooks
 * signatures the way a receiver must (constant-time comparison, ±5 minutes around the timestamp), answers 204 to
 * verified deliveries and 401 to everything else, and prints one line per delivery.
 */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;
/** Deliveries are envelopes of a few kilobytes; anything far larger is not one. */
const MAX_BODY_BYTES = 1024 * 1024;
const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

export type WebhookCheck = { verified: true } | { verified: false; reason: string };

/** Checks one delivery against the secret, at `nowSeconds`. A header may carry several signatures (a rotated secret). */
export function verifyWebhook(secret: string, headers: IncomingHttpHeaders, body: string, nowSeconds: number): WebhookCheck {
  const [id, timestamp, signatures] = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => headers[name]);
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') {
    return { verified: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { verified: false, reason: 'malformed webhook-timestamp' };
  if (Math.abs(nowSeconds - Number(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS)
    return { verified: false, reason: 'webhook-timestamp outside the 5-minute tolerance' };
  const expected = webhookSignature([secret], id, Number(timestamp), body);
  // Every presented signature is compared, so the time taken does not tell which one (if any) matched.
  const matches = signatures.split(' ').filter((presented) => safeEqual(presented, expected));
  return matches.length ? { verified: true } : { verified: false, reason: 'no matching v1 signature' };
}

export interface Delivery {
  webhookId: string | null;
  eventName: string | null;
  verified: boolean;
  reason?: string;
  eventData?: unknown;
}

export interface ListenOptions {
  host: string;
  port: number;
  secret: string;
  /** Stop after this many verified deliveries. */
  maxDeliveries?: number;
  clock?: Clock;
  onListening(url: string): void;
  onDelivery(delivery: Delivery): void;
}

/** Listens until SIGINT or SIGTERM (or `maxDeliveries`); resolves once the server has closed. */
export async function listenForWebhooks(options: ListenOptions): Promise<void> {
  const clock = options.clock ?? systemClock;
  let verifiedCount = 0;
  const server = createServer((req, res) => {
    // A sender that breaks off mid-request gets nothing back.
    void handle(req, res).catch(() => res.destroy());
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.off('SIGINT', stop).off('SIGTERM', stop);
    server.close();
    server.closeIdleConnections();
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const body = await readBody(req);
    if (body === null) return void res.writeHead(413).end();
    const check = verifyWebhook(options.secret, req.headers, body, Math.floor(clock.now() / 1000));
    const webhookId = typeof req.headers['webhook-id'] === 'string' ? req.headers['webhook-id'] : null;
    options.onDelivery(
      check.verified ? { webhookId, ...describeEvent(body), verified: true } : { webhookId, eventName: null, verified: false, reason: check.reason },
    );
    if (!check.verified) return void res.writeHead(401).end();
    verifiedCount++;
    // Answered before stopping, so the sender sees its delivery accepted.
    if (options.maxDeliveries !== undefined && verifiedCount >= options.maxDeliveries) res.once('finish', stop);
    res.writeHead(204).end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  process.on('SIGINT', stop).on('SIGTERM', stop);
  const { address, port } = server.address() as AddressInfo;
  options.onListening(`http://${address.includes(':') ? `[${address}]` : address}:${port}`);
  await new Promise<void>((resolve) => server.once('close', () => resolve()));
}

/** The raw body as sent (signatures cover exact bytes), or null when it exceeds the limit. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Only verified bodies are read: what an unverified sender wrote is not worth showing. */
function describeEvent(body: string): { eventName: string | null; eventData?: unknown } {
  try {
    const envelope = JSON.parse(body) as { eventName?: unknown; eventData?: unknown };
    return { eventName: typeof envelope.eventName === 'string' ? envelope.eventName : null, eventData: envelope.eventData };
  } catch {
    return { eventName: null };
  }
}

export function registerWebhookListen(program: Command): void {
  const webhooks = program.commands.find((c) => c.name() === 'webhooks') ?? program.command('webhooks').description('Webhook tools');
  webhooks
    .command('listen')
    .description("Receive webhooks locally: verify each delivery's signature, answer 204 (verified) or 401, print one line per delivery")
    .requiredOption('--port <port>', 'port to listen on (0: any free port, printed at start)')
    .requiredOption('--secret <secret>', "the subscription's signing secret (whsec_…)")
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--max-deliveries <n>', 'exit after this many verified deliveries')
    .option('--json', 'one JSON object per line')
    .action(async (flags: { port: string; secret: string; host: string; maxDeliveries?: string; json?: boolean }) => {
      await listenForWebhooks({
        host: flags.host,
        port: integerOption('--port', flags.port, 0, 65535),
        secret: webhookSecret(flags.secret),
        maxDeliveries: flags.maxDeliveries === undefined ? undefined : integerOption('--max-deliveries', flags.maxDeliveries, 1, Number.MAX_SAFE_INTEGER),
        onListening: (url) => console.log(flags.json ? JSON.stringify({ listening: url }) : `listening on ${url} (Ctrl-C stops)`),
        onDelivery: (delivery) => console.log(flags.json ? JSON.stringify(delivery) : describeDelivery(delivery)),
      });
    });
}

function integerOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new CliError('invalid_argument', `${name} must be an integer from ${min} to ${max}`);
  return n;
}

function webhookSecret(secret: string): string {
  if (!SECRET_PATTERN.test(secret))
    throw new CliError('invalid_argument', '--secret must be whsec_ followed by base64, as shown when the subscription was created');
  return secret;
}

/** Header values come from whoever sent the request: control characters are replaced so they cannot drive the terminal. */
function describeDelivery(delivery: Delivery): string {
  const printable = (text: string | null) => Array.from(text ?? '-', (ch) => (isControl(ch) ? '?' : ch)).join('');
  if (!delivery.verified) return `REFUSED   ${printable(delivery.webhookId)}: ${delivery.reason}`;
  return `verified  ${printable(delivery.webhookId)}  ${printable(delivery.eventName)}  ${printable(JSON.stringify(delivery.eventData) ?? '')}`;
}

/** C0 and C1 control characters, DEL included. */
function isControl(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}
