import type { FastifyRequest } from 'fastify';
import { errors } from '../shared/errors.js';

/** How long a refused upload should wait: one upload of the largest kind takes a few seconds on a phone link. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Bounds the request bodies being received at once, per key (a device) and in total. A body being received is memory
 * of this process, so the count is this process's (unlike rate limits, shared through the rate counters): N instances
 * hold at most N times the total. Taken after authentication, so a stranger cannot spend a device's slots.
 */
export class BodiesInFlight {
  private total = 0;
  private readonly perKey = new Map<string, number>();

  constructor(private readonly limits: { perDevice: number; total: number }) {}

  /** Takes a slot for `key` and returns its release (safe to call twice); 429 or 503 with Retry-After when full. */
  acquire(key: string): () => void {
    const mine = this.perKey.get(key) ?? 0;
    if (mine >= this.limits.perDevice)
      throw errors.tooManyRequests(RETRY_AFTER_SECONDS, 'Too many uploads from this device at once; retry when one has finished.');
    if (this.total >= this.limits.total) throw errors.serviceUnavailable('Too many uploads in progress; retry later.');
    this.perKey.set(key, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left > 0) this.perKey.set(key, left);
      else this.perKey.delete(key);
    };
  }
}

/** Whether the request announces a body (a length above zero, or a chunked one of unknown length). */
export function announcesBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
