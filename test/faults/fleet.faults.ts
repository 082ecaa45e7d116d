import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runOnboardings, type OnboardingLoadOptions, type OnboardingOutcome } from '../../bench/onboarding-load.js';
import { auditVerify, pendingAuditItems, sequencerInstance } from './audit-chain.js';
import { readAccount } from './consistency.js';
import { PUBLIC_URL, startFleet, type Fleet } from './fleet.js';
import { WebhookLedger } from './webhook-ledger.js';

/**
 * Three server processes on one throwaway PostgreSQL under a load of full onboardings, while things break: an
 * instance is killed, the webhook receiver goes down, PostgreSQL restarts. Outcomes are checked on the database rows
 * and at the receiver; waits are bounded polls, never timing assertions. Each scenario reports its numbers.
 */
const REQUEST_TIMEOUT_MS = 10_000;

let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet(3);
});

afterAll(async () => {
  await fleet?.destroy();
});

afterEach(({ task }) => {
  if (task.result?.state !== 'fail') return;
  for (const instance of fleet.instances) console.error(`--- last log lines of ${instance.url}\n${instance.logTail()}`);
});

/** Onboardings spread round-robin over the live instances, collecting what the RP and the device were told. */
function load(client: OnboardingLoadOptions['client'], maxOnboardings: number, concurrency: number) {
  const outcomes: OnboardingOutcome[] = [];
  const run = runOnboardings({
    urls: fleet.urls,
    publicUrl: PUBLIC_URL,
    client,
    concurrency,
    maxOnboardings,
    durationMs: 120_000,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    onOutcome: (o) => outcomes.push(o),
  });
  return { ...run, outcomes };
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Nothing lost or half-written, and every Completed onboarding's event arrived under one webhook-id: what the RP
 * was told exists, what the device was told Completed is Completed, and each Completed transaction has exactly one
 * event, accepted by the receiver at least once (more often only as a retry of the same webhook-id).
 */
async function expectConsistent(accountId: string, outcomes: OnboardingOutcome[], ledger: WebhookLedger) {
  const rows = await readAccount(fleet.databaseUrl, accountId);
  expect(rows.anomalies).toEqual([]);
  for (const outcome of outcomes) {
    if (outcome.transactionId) expect(rows.all.has(outcome.transactionId), `transaction ${outcome.transactionId} lost`).toBe(true);
    if (outcome.completed) expect(rows.all.get(outcome.transactionId!)).toBe('Completed');
  }
  await waitFor('every completed onboarding to be delivered', () => [...ledger.eventsFor(rows.completed).values()].every((ids) => ids.length > 0));
  for (const [transactionId, eventIds] of ledger.eventsFor(rows.completed)) {
    expect(eventIds, `events of ${transactionId}`).toHaveLength(1);
    expect(rows.completedEvents.has(eventIds[0]!)).toBe(true);
  }
  expect(ledger.accepted.size).toBe(rows.completed.size);
  expect(ledger.invalidSignatures).toBe(0);
  return rows;
}

/** Deliveries of the account by status, and how many claims were never recorded (their sender died holding them). */
async function deliveryBooks(accountId: string) {
  const client = new pg.Client({ connectionString: fleet.databaseUrl });
  await client.connect();
  try {
    const statuses = await client.query<{ status: string; count: number }>(
      `select status, count(*)::int as count from webhook_deliveries where account_id = $1 group by status`,
      [accountId],
    );
    const lost = await client.query<{ count: number }>(
      `select count(*)::int as count from webhook_deliveries d where d.account_id = $1 and d.attempt_count > (select count(*) from webhook_delivery_attempts a where a.delivery_id = d.id)`,
      [accountId],
    );
    const failures = await client.query<{ kind: string; count: number }>(
      `select coalesce(a.status_code::text, split_part(a.error, ' ', 1)) as kind, count(*)::int as count from webhook_delivery_attempts a join webhook_deliveries d on d.id = a.delivery_id
       where d.account_id = $1 and (a.status_code is null or a.status_code >= 300) group by 1`,
      [accountId],
    );
    return {
      byStatus: Object.fromEntries(statuses.rows.map((r) => [r.status, r.count])),
      claimsLostWithTheirSender: lost.rows[0]!.count,
      failedAttempts: Object.fromEntries(failures.rows.map((r) => [r.kind, r.count])),
    };
  } finally {
    await client.end();
  }
}

function report(scenario: string, numbers: Record<string, unknown>): void {
  console.log(`[faults] ${scenario}: ${JSON.stringify(numbers)}`);
}

describe('three instances on one PostgreSQL', () => {
  it('loses nothing when an instance is killed mid-run, and the survivors deliver its claimed webhooks', async () => {
    const ledger = await WebhookLedger.start();
    const client = await fleet.account('faults-kill', ledger);
    ledger.delayMs = 300; // a slow receiver: deliveries stay claimed (leased) while they are in flight
    const run = load(client, 300, 9);
    await waitFor('a third of the onboardings with deliveries in flight', () => run.stats.completed >= 100 && ledger.inFlight >= 3);
    await fleet.kill(2);
    try {
      const stats = await run.done;
      const rows = await expectConsistent('faults-kill', run.outcomes, ledger);
      await waitFor('no delivery pending', async () => (await deliveryBooks('faults-kill')).byStatus.pending === undefined);
      const books = await deliveryBooks('faults-kill');
      expect(books.byStatus).toEqual({ succeeded: rows.completed.size });
      report('kill -9 one of three', {
        started: stats.started,
        completedSeenByDriver: stats.completed,
        errorsSeenByDriver: stats.summary().errors,
        transactions: rows.byStatus,
        ...ledger.summary(),
        ...books,
      });
    } finally {
      await fleet.restart(2); // the next scenarios run on three instances again
    }
  });

  it('chains every audit item when the instance holding the audit sequencer is killed, and the chain verifies', async () => {
    const ledger = await WebhookLedger.start();
    const client = await fleet.account('faults-sequencer', ledger);
    const run = load(client, 240, 9);
    await waitFor('one instance elected sequencer', async () => (await sequencerInstance(fleet)) !== null);
    await waitFor('a third of the onboardings', () => run.stats.completed >= 80);
    const holder = (await sequencerInstance(fleet))!;
    // Items committed since the holder's last pass: their transactions are done, their chaining is not.
    const pendingAtKill = await pendingAuditItems(fleet.databaseUrl, 'faults-sequencer');
    await fleet.kill(holder);
    try {
      await waitFor('a survivor to take the sequencer over', async () => ![null, holder].includes(await sequencerInstance(fleet)));
      const successor = await sequencerInstance(fleet);
      const stats = await run.done;
      await waitFor('every audit item chained', async () => (await pendingAuditItems(fleet.databaseUrl, 'faults-sequencer')) === 0);
      const rows = await expectConsistent('faults-sequencer', run.outcomes, ledger);
      const verified = await auditVerify(fleet.databaseUrl);
      expect(verified.accounts.filter((chain) => !chain.ok)).toEqual([]);
      expect(verified.ok).toBe(true);
      const chain = verified.accounts.find((a) => a.accountId === 'faults-sequencer')!;
      report('kill -9 the sequencer', {
        killed: holder,
        successor,
        pendingAtKill,
        chained: chain.items,
        started: stats.started,
        errorsSeenByDriver: stats.summary().errors,
        transactions: rows.byStatus,
      });
    } finally {
      await fleet.restart(holder);
    }
  });

  it('delivers everything once a receiver that refused connections and then answered 503 is back', async () => {
    const ledger = await WebhookLedger.start();
    const client = await fleet.account('faults-receiver', ledger);
    const run = load(client, 1000, 6);
    await waitFor('some onboardings before the outage', () => run.stats.completed >= 30);
    // The outage stays shorter than the first retry delay (5 s), so every event needs one retry at most, not the
    // next step of the schedule (5 min).
    await ledger.receiver.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    ledger.reply = { status: 503 };
    await ledger.receiver.restart();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    ledger.reply = { status: 204 };
    await waitFor('some onboardings after the outage', () => run.stats.completed >= 30 + 100);
    run.stop();
    const stats = await run.done;
    expect(stats.summary().errors).toEqual({});
    const rows = await expectConsistent('faults-receiver', run.outcomes, ledger);
    expect([...ledger.accepted.values()].every((times) => times === 1)).toBe(true);
    await waitFor('no delivery pending', async () => (await deliveryBooks('faults-receiver')).byStatus.pending === undefined);
    const books = await deliveryBooks('faults-receiver');
    expect(books.byStatus).toEqual({ succeeded: rows.completed.size });
    expect(books.failedAttempts).toMatchObject({ '503': expect.any(Number), connect: expect.any(Number) });
    report('receiver down', { started: stats.started, transactions: rows.byStatus, ...ledger.summary(), ...books });
  });

  it('answers 503 while PostgreSQL is down and recovers by itself when it is back', async () => {
    const ledger = await WebhookLedger.start();
    const client = await fleet.account('faults-postgres', ledger);
    const token = await accessToken(client);
    // Requests fail fast while the database is down: the count bounds that burst, stop() ends it after the checks.
    const during = load(client, 5000, 6);
    await waitFor('some onboardings before the restart', () => during.stats.completed >= 30);
    await fleet.cluster.stop();
    for (const url of fleet.urls) await expectUnavailable(url, token);
    during.stop();
    const duringStats = await during.done;
    expect(Object.keys(duringStats.summary().errors).filter((kind) => kind !== '503 service_unavailable')).toEqual([]);
    await fleet.cluster.start();
    await waitFor('every instance ready again', async () => (await Promise.all(fleet.urls.map((url) => status(`${url}/readyz`)))).every((s) => s === 200));
    const after = load(client, 30, 6);
    const afterStats = await after.done;
    expect(afterStats.summary()).toMatchObject({ completed: 30, failed: 0 });
    const rows = await expectConsistent('faults-postgres', [...during.outcomes, ...after.outcomes], ledger);
    // The sequencer's election connection died with PostgreSQL: an instance is elected again and chains everything.
    await waitFor('every audit item chained after the restart', async () => (await pendingAuditItems(fleet.databaseUrl, 'faults-postgres')) === 0);
    expect((await auditVerify(fleet.databaseUrl)).ok).toBe(true);
    report('PostgreSQL restart', {
      startedBefore: duringStats.started,
      completedBefore: duringStats.completed,
      errorsDuringOutage: duringStats.summary().errors,
      completedAfter: afterStats.completed,
      transactions: rows.byStatus,
      ...ledger.summary(),
    });
  });
});

async function accessToken(client: OnboardingLoadOptions['client']): Promise<string> {
  const response = await fetch(`${fleet.urls[0]}/auth/open/connect/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=signicat-api',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Readiness and the API answer a 503 error object, each within the request bound (a hang fails the test). */
async function expectUnavailable(url: string, token: string): Promise<void> {
  expect(await status(`${url}/readyz`)).toBe(503);
  const started = await fetch(`${url}/reuseid/onboarding`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  expect(started.status).toBe(503);
  expect(started.headers.get('content-type')).toContain('application/problem+json');
  expect(await started.json()).toMatchObject({ status: 503, code: 'service_unavailable', title: 'Service unavailable', traceId: expect.any(String) });
}

async function status(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).then(
    (r) => r.status,
    () => 0,
  );
}
