import { Redis } from 'ioredis';
import { type CounterWindow, type RateCounters, SLOTS, slotMs } from './rate-counters.js';

/**
 * The sliding window of rate-counters.ts in one Lua script per key, so that counting and summing are atomic in Redis
 * (a script runs alone): the counts of concurrent events are distinct, as in the database. A key is a hash of
 * `c<slot>` (events) and `l<slot>` (latest event time) fields; slots that no longer count are deleted as the key is
 * counted, and the whole key expires a window and a slot after its last event.
 *
 * Time is the instances' clock (passed as `now`), not Redis's: the same clock as every other deadline of the server
 * and the database backend. Instances must keep their clocks in sync (NTP); a skew of d ms shifts a bound's window
 * by up to d ms.
 */
const ADD = `
local now = tonumber(ARGV[1])
local slotMs = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[3])
local slots = tonumber(ARGV[4])
local current = math.floor(now / slotMs)
redis.call('HINCRBY', KEYS[1], 'c' .. current, 1)
local last = tonumber(redis.call('HGET', KEYS[1], 'l' .. current) or '0')
if now > last then redis.call('HSET', KEYS[1], 'l' .. current, now) end
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 1) == 'c' then
    local slot = tonumber(string.sub(name, 2))
    if slot < current - slots then
      redis.call('HDEL', KEYS[1], name, 'l' .. slot)
    elseif not (slot == current - slots and tonumber(redis.call('HGET', KEYS[1], 'l' .. slot) or '0') <= now - windowMs) then
      total = total + tonumber(fields[i + 1])
    end
  end
end
redis.call('PEXPIRE', KEYS[1], windowMs + slotMs)
return total
`;

const REMOVE = `
local field = 'c' .. math.floor(tonumber(ARGV[1]) / tonumber(ARGV[2]))
if tonumber(redis.call('HGET', KEYS[1], field) or '0') > 0 then redis.call('HINCRBY', KEYS[1], field, -1) end
return 0
`;

type CountingRedis = Redis & {
  rateAdd(key: string, now: number, slotMs: number, windowMs: number, slots: number): Promise<number>;
  rateRemove(key: string, now: number, slotMs: number): Promise<number>;
};

/** Thrown when Redis cannot count now (not connected yet, or reconnecting): the caller falls back. */
export class RedisUnavailable extends Error {}

export class RedisCounters implements RateCounters {
  private client: CountingRedis | undefined;
  private firstConnection: Promise<void> | undefined;
  private connectedOnce = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
  ) {}

  /**
   * Connects (once; ioredis then reconnects by itself after any loss). Lazy, so that a CLI command building the
   * context never opens a connection it would have to close. Resolves when connected, rejects if that fails.
   */
  async connect(): Promise<boolean> {
    await this.connection();
    return true;
  }

  async add(keys: readonly string[], window: CounterWindow, now: number): Promise<number[]> {
    const client = await this.connection();
    const slot = slotMs(window);
    return Promise.all(keys.map((key) => client.rateAdd(this.prefix + key, now, slot, window.ms, SLOTS).then(Number)));
  }

  async remove(keys: readonly string[], window: CounterWindow, now: number): Promise<void> {
    const client = await this.connection();
    await Promise.all(keys.map((key) => client.rateRemove(this.prefix + key, now, slotMs(window))));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.forget()?.disconnect();
  }

  private forget(): CountingRedis | undefined {
    const client = this.client;
    this.client = undefined;
    this.firstConnection = undefined;
    this.connectedOnce = false;
    return client;
  }

  /**
   * The client once connected. The first connection is waited for (at most connectTimeout), so that the first counts
   * of a starting instance do not go to the fallbacks; after that, a lost connection fails at once while ioredis
   * reconnects, and the caller falls back.
   */
  private async connection(): Promise<CountingRedis> {
    if (this.closed) throw new RedisUnavailable('closed');
    // A client that gave up reconnecting is replaced (the fallback's retry delay paces the attempts).
    if (this.client?.status === 'end') this.forget();
    const client = this.redis();
    if (client.status === 'ready') return client;
    if (this.firstConnection === undefined) {
      this.firstConnection = client.connect().catch((error: unknown) => {
        throw new RedisUnavailable(`Redis connection failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    if (!this.connectedOnce) {
      await this.firstConnection;
      this.connectedOnce = true;
      return client;
    }
    throw new RedisUnavailable(`Redis is ${client.status}`);
  }

  private redis(): CountingRedis {
    if (this.client) return this.client;
    const client = new Redis(this.url, {
      lazyConnect: true,
      // Never queue a count while disconnected: the caller falls back at once instead of waiting.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A Redis that accepts connections but does not answer must not hold requests: past this, the count falls back.
      commandTimeout: 500,
      connectTimeout: 2000,
      // Reconnects forever, at most every 2 s: counting moves back to Redis as soon as it answers again.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      enableAutoPipelining: true,
    }) as CountingRedis;
    // Connection errors surface as failed commands (and the fallback); without a listener they would be printed.
    client.on('error', () => undefined);
    client.defineCommand('rateAdd', { numberOfKeys: 1, lua: ADD });
    client.defineCommand('rateRemove', { numberOfKeys: 1, lua: REMOVE });
    this.client = client;
    return client;
  }
}
