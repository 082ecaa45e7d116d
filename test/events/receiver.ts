import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A real webhook receiver on 127.0.0.1 for the tests: records every request and answers as told. */
export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** How the next requests are answered (default 204); a promise holds the answer back, like a slow receiver. */
  respond: (request: ReceivedRequest) => Reply | Promise<Reply>;
  /** Stops listening, so that connections are refused, keeping the port for restart(). */
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let server: Server;
  const receiver: Receiver = {
    url: '',
    requests: [],
    respond: () => ({ status: 204 }),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
    restart: () => listen(port),
  };
  const listen = (onPort: number) =>
    new Promise<void>((resolve, reject) => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', async () => {
          const request = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
          receiver.requests.push(request);
          const reply = await receiver.respond(request);
          res.writeHead(reply.status, reply.headers).end();
        });
      });
      server.once('error', reject);
      server.listen(onPort, '127.0.0.1', () => resolve());
    });
  await listen(0);
  const port = (server!.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${port}/hook`;
  return receiver;
}

/** Standard Webhooks verification (as a receiver does it), with the timestamp tolerance checked against real time. */
export function verifyDelivery(secret: string, request: ReceivedRequest): unknown {
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
}

/**
 * The same check for deliveries sent while the test moved the server's clock far from real time: the signature
 * must be valid for the timestamp the request carries.
 */
export function signedWith(secret: string, request: ReceivedRequest): boolean {
  const timestamp = new Date(Number(request.headers['webhook-timestamp']) * 1000);
  const expected = new Webhook(secret).sign(String(request.headers['webhook-id']), timestamp, request.body);
  return String(request.headers['webhook-signature']).split(' ').includes(expected);
}
