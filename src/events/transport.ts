import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './ssrf.js';

/**
 * One webhook POST. The connection goes to the address the SSRF guard checked (the name is still used for the Host
 * header and for TLS server-name verification), redirects are not followed (a 3xx is a failed attempt, as Standard
 * Webhooks says), no connection is reused, and the whole exchange is bounded by a timeout.
 */
export const WEBHOOK_TIMEOUT_MS = 15_000;

export interface WebhookResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
}

export function postWebhook(
  url: URL,
  pinned: ResolvedAddress,
  headers: Record<string, string>,
  body: string,
  timeoutMs = WEBHOOK_TIMEOUT_MS,
): Promise<WebhookResponse> {
  const lookup = ((_hostname, options, callback) => {
    // Node asks for every address when it may try several (autoSelectFamily); both shapes get the pinned one only.
    if ((options as { all?: boolean }).all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      lookup,
      agent: false,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    });
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${timeoutMs / 1000} s`)), timeoutMs);
    req.on('response', (res) => {
      // The receiver's body is not needed: drain it so the socket closes; one that never ends is cut off by the timer.
      res.on('close', () => clearTimeout(timer));
      res.on('error', () => undefined);
      res.resume();
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}
