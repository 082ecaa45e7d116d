import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

/** One bounded load run on loopback; returns requests per second and latency percentiles in ms. */
export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export async function load(options: {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Each connection sends these header sets in turn, one per request (e.g. tokens of several accounts). */
  rotateHeaders?: Record<string, string>[];
  seconds: number;
  connections: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    ...(options.rotateHeaders ? { requests: options.rotateHeaders.map((headers) => ({ headers })) } : {}),
    duration: options.seconds,
    connections: options.connections,
  });
  return { rps: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

/**
 * Latency of one request at a time (no queueing), measured with a monotonic clock to the microsecond: autocannon
 * rounds to whole milliseconds, too coarse to compare sub-millisecond reads.
 */
export async function sequentialP50Ms(url: string, headers: Record<string, string>, count: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        request(url, { agent, headers }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  } finally {
    agent.destroy();
  }
  samples.sort((a, b) => a - b);
  return Math.round(samples[Math.floor(samples.length / 2)]! * 1000) / 1000;
}
