import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { DeviceApiError, DeviceClient } from '../src/sdk/device.js';

/**
 * Full onboardings as load: the RP starts one over HTTP, a fresh device activates with the code and submits a sandbox
 * proof through the device SDK, and the RP reads the result. Every request goes to the next instance in turn, as
 * behind a load balancer, so one onboarding touches several instances. The soak driver and the fault tests share it.
 */
export interface RpCredentials {
  clientId: string;
  clientSecret: string;
}

export interface OnboardingLoadOptions {
  /** Base URLs of the instances. */
  urls: string[];
  /** The instances' REUSEID_PUBLIC_URL: what tokens are issued for and device signatures bind to. */
  publicUrl: string;
  client: RpCredentials;
  concurrency: number;
  /** The run stops at whichever bound comes first; onboardings in flight finish. */
  durationMs: number;
  maxOnboardings?: number;
  /** Each request is abandoned (and counted as a `timeout`) after this long. */
  requestTimeoutMs?: number;
  /** Called once per onboarding, for callers that check outcomes against the database. */
  onOutcome?: (outcome: OnboardingOutcome) => void;
}

export interface OnboardingOutcome {
  /** Set once the RP was told the transaction exists. */
  transactionId?: string;
  /** The device was told Completed and the RP read Completed. */
  completed: boolean;
  error?: string;
}

const IDENTITY = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Runs onboardings until a bound is reached or `stop()` is called; `stats` is live, so callers may watch or report
 * it meanwhile.
 */
export function runOnboardings(options: OnboardingLoadOptions, stats = new LoadStats()): { stats: LoadStats; done: Promise<LoadStats>; stop(): void } {
  const balancer = new RoundRobin(options.urls, options.publicUrl, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, stats);
  const rp = new RpSession(balancer, options.publicUrl, options.client);
  const deadline = performance.now() + options.durationMs;
  let stopped = false;
  const more = () => !stopped && performance.now() < deadline && stats.started < (options.maxOnboardings ?? Infinity);
  const worker = async () => {
    while (more()) {
      stats.started++;
      const outcome = await onboardOnce(rp, balancer, options.publicUrl, stats);
      options.onOutcome?.(outcome);
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, worker)).then(() => stats);
  return { stats, done, stop: () => void (stopped = true) };
}

async function onboardOnce(rp: RpSession, balancer: RoundRobin, publicUrl: string, stats: LoadStats): Promise<OnboardingOutcome> {
  const began = performance.now();
  let transactionId: string | undefined;
  try {
    const start = await rp.request<{ data: { transactionId: string; activationCode: string } }>('POST', '/reuseid/onboarding', {});
    transactionId = start.data.transactionId;
    const device = await DeviceClient.create(publicUrl, balancer.fetch);
    await device.activate(start.data.activationCode);
    const proofed = await device.call<{ status: string }>('POST', `/device/v1/transactions/${transactionId}/proofing/sandbox`, {
      outcome: 'accepted',
      identity: IDENTITY,
    });
    const read = await rp.request<{ data: { status: string } }>('GET', `/reuseid/onboarding/${transactionId}`);
    if (proofed.status !== 'Completed' || read.data.status !== 'Completed') throw new Error(`ended ${proofed.status}, read ${read.data.status}`);
    stats.completedOne(performance.now() - began);
    return { transactionId, completed: true };
  } catch (error) {
    const kind = errorKind(error);
    stats.failedOne(kind);
    return { transactionId, completed: false, error: kind };
  }
}

/** A short, stable name for what went wrong: `503 service_unavailable`, `ECONNRESET`, `timeout`, … */
export function errorKind(error: unknown): string {
  if (error instanceof DeviceApiError || error instanceof HttpError) return `${error.status} ${codeOf(error.body)}`;
  const e = error as { name?: string; message?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError') return 'timeout';
  return e?.cause?.code ?? e?.message ?? String(error);
}

function codeOf(body: unknown): string {
  const b = body as { code?: unknown; error?: unknown } | undefined;
  return String(b?.code ?? b?.error ?? 'no_code');
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

type FetchInit = { method: string; headers: Record<string, string>; body?: string };

/**
 * Sends each request to the next instance. A refused connection never reached the instance, so it is tried on the
 * next one (what a load balancer does with a dead backend); any other failure is the caller's to see.
 */
export class RoundRobin {
  private next = 0;

  constructor(
    private readonly urls: string[],
    private readonly publicUrl: string,
    private readonly timeoutMs: number,
    private readonly stats: LoadStats,
  ) {}

  readonly fetch = async (url: string, init: FetchInit): Promise<Response> => {
    const path = url.startsWith(this.publicUrl) ? url.slice(this.publicUrl.length) : url;
    const first = this.next++;
    for (let tried = 0; ; tried++) {
      try {
        return await this.timed(`${this.urls[(first + tried) % this.urls.length]}${path}`, init);
      } catch (error) {
        if (tried + 1 >= this.urls.length || errorKind(error) !== 'ECONNREFUSED') throw error;
      }
    }
  };

  private async timed(url: string, init: FetchInit): Promise<Response> {
    const began = performance.now();
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    // The body is part of the answer: read it before the clock stops (Response keeps it for the caller).
    const body = await response.arrayBuffer();
    this.stats.requestLatency(performance.now() - began);
    return new Response(body.byteLength ? body : null, { status: response.status, headers: response.headers });
  }
}

/** The RP side: a client-credentials token, renewed a minute before it expires, and JSON requests with it. */
class RpSession {
  private token?: { value: string; renewAt: number };
  /** Concurrent requests that find the token stale share one renewal. */
  private renewal?: Promise<{ value: string; renewAt: number }>;

  constructor(
    private readonly balancer: RoundRobin,
    private readonly publicUrl: string,
    private readonly client: RpCredentials,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.accessToken()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.balancer.fetch(`${this.publicUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return readJson<T>(response);
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.renewAt > Date.now()) return this.token.value;
    this.renewal ??= this.issue().finally(() => (this.renewal = undefined));
    this.token = await this.renewal;
    return this.token.value;
  }

  private async issue(): Promise<{ value: string; renewAt: number }> {
    const basic = Buffer.from(`${this.client.clientId}:${this.client.clientSecret}`).toString('base64');
    const response = await this.balancer.fetch(`${this.publicUrl}/auth/open/connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=signicat-api',
    });
    const token = await readJson<{ access_token: string; expires_in: number }>(response);
    return { value: token.access_token, renewAt: Date.now() + Math.max(0, token.expires_in - 60) * 1000 };
  }
}

async function readJson<T>(response: Response): Promise<T> {
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (response.status >= 400) throw new HttpError(response.status, body);
  return body as T;
}

export interface LoadWindow {
  seconds: number;
  completed: number;
  failed: number;
  onboardingsPerSecond: number;
  errors: Record<string, number>;
  requestP50Ms: number;
  requestP99Ms: number;
  onboardingP50Ms: number;
  onboardingP99Ms: number;
}

/** Counters and latency histograms, for the whole run and for the window since the last `takeWindow()`. */
export class LoadStats {
  started = 0;
  private readonly total = new Period();
  private window = new Period();

  completedOne(ms: number): void {
    for (const period of [this.total, this.window]) period.completedOne(ms);
  }

  failedOne(kind: string): void {
    for (const period of [this.total, this.window]) period.failedOne(kind);
  }

  requestLatency(ms: number): void {
    for (const period of [this.total, this.window]) period.requests.record(microseconds(ms));
  }

  get completed(): number {
    return this.total.completed;
  }

  get failed(): number {
    return this.total.failed;
  }

  summary(): LoadWindow {
    return this.total.describe();
  }

  takeWindow(): LoadWindow {
    const ended = this.window;
    this.window = new Period();
    return ended.describe();
  }
}

class Period {
  private readonly began = performance.now();
  completed = 0;
  failed = 0;
  readonly errors: Record<string, number> = {};
  readonly requests: RecordableHistogram = createHistogram();
  private readonly onboardings: RecordableHistogram = createHistogram();

  completedOne(ms: number): void {
    this.completed++;
    this.onboardings.record(microseconds(ms));
  }

  failedOne(kind: string): void {
    this.failed++;
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  describe(): LoadWindow {
    const seconds = (performance.now() - this.began) / 1000;
    return {
      seconds: round(seconds, 1),
      completed: this.completed,
      failed: this.failed,
      onboardingsPerSecond: round(this.completed / Math.max(seconds, 0.001), 1),
      errors: { ...this.errors },
      requestP50Ms: percentileMs(this.requests, 50),
      requestP99Ms: percentileMs(this.requests, 99),
      onboardingP50Ms: percentileMs(this.onboardings, 50),
      onboardingP99Ms: percentileMs(this.onboardings, 99),
    };
  }
}

/** Histograms hold positive integers: latencies are kept in microseconds. */
const microseconds = (ms: number) => Math.max(1, Math.round(ms * 1000));
const percentileMs = (histogram: RecordableHistogram, p: number) => (histogram.count ? round(histogram.percentile(p) / 1000, 2) : 0);
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
