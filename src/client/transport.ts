import { errorFromResponse, networkError, type ReuseIdError } from './errors.js';

/**
 * One HTTP exchange with bounded retries. Only exchanges the caller marks as safe to repeat are retried: GETs,
 * read-only POSTs and POSTs carrying an Idempotency-Key (the server then replays the first answer instead of acting
 * twice). Retried are network failures, 429 (after its Retry-After), 502/503/504, and a 409 saying that a request with
 * the same Idempotency-Key is still running (a retry of an attempt that timed out on our side).
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** Attempts in all, the first included (default 3). */
  maxAttempts?: number;
  /** The first backoff; it doubles per attempt, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /** The longest wait between attempts; a longer Retry-After ends the retries (default 30 s). */
  maxDelayMs?: number;
}

/** Time as the client sees it; injectable so that tests neither wait nor depend on the wall clock. */
export interface ClientClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: ClientClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface Exchange {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: string;
  retryable: boolean;
}

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

export class Transport {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly fetchImpl: FetchLike,
    private readonly clock: ClientClock,
    private readonly timeoutMs: number,
    retry: RetryOptions = {},
  ) {
    this.maxAttempts = Math.max(1, retry.maxAttempts ?? 3);
    this.baseDelayMs = retry.baseDelayMs ?? 250;
    this.maxDelayMs = retry.maxDelayMs ?? 30_000;
  }

  /** The 2xx answer, or a ReuseIdError once the answer is final or the attempts are used up. */
  async exchange(request: Exchange): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      const last = !request.retryable || attempt >= this.maxAttempts;
      let response: Response;
      try {
        response = await this.send(request);
      } catch (cause) {
        if (last) throw networkError(cause);
        await this.clock.sleep(this.backoffMs(attempt));
        continue;
      }
      if (response.ok) return response;
      const error = await errorFromResponse(response);
      const delay = last || !isRetryable(error) ? undefined : this.retryDelayMs(response, attempt);
      if (delay === undefined) throw error;
      await this.clock.sleep(delay);
    }
  }

  private send(request: Exchange): Promise<Response> {
    return this.fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  /** Retry-After when the server sent one (undefined if it asks for longer than we wait), else the backoff. */
  private retryDelayMs(response: Response, attempt: number): number | undefined {
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
    if (retryAfter === undefined) return this.backoffMs(attempt);
    return retryAfter <= this.maxDelayMs ? retryAfter : undefined;
  }

  /** Exponential, with half of it random so that many clients failing together do not retry together. */
  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }
}

function isRetryable(error: ReuseIdError): boolean {
  return RETRYABLE_STATUSES.has(error.status) || (error.status === 409 && error.code === 'idempotency_request_in_progress');
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
