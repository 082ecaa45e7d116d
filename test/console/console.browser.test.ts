import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createContext, type AppContext } from '../../src/context.js';
import { type SampleImages, sampleMrz, samplePersonImages } from '../../src/testing/media/sample-images.js';
import { DeviceClient } from '../../src/sdk/device.js';
import { migrateToLatest, openStore } from '../../src/store/database.js';
import { TEST_MASTER_KEY } from '../support/harness.js';
import { AGENT_PASSWORD, b64, captureBody, createAgent } from '../videoid/support.js';

/**
 * The console in a real browser (Debian chromium, headless) against a real listening server, not in sandbox mode:
 * an agent signs in, approves one capture and rejects another, and the RP sees Completed and Failed. The captures
 * show real sample people, compared by the real face matcher: the agent sees the score. An agent of one account does
 * not see another account's case in its queue.
 */
const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT = join(tmpdir(), 'reuseid-console-case.png');

describe('agent console in Chromium (sqlite)', () => {
  let app: FastifyInstance;
  let ctx: AppContext;
  let baseUrl: string;
  let browser: BrowserContext;
  let profile: string;
  /** The RP of the default account, as the agent console tests use it. */
  let main: RpClient;

  beforeAll(async () => {
    // No skipping: a missing browser is a broken test environment, and it must show.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian chromium (apt-get install -y chromium) to run the console browser test`);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const config = loadConfig({ REUSEID_DATABASE_URL: 'sqlite::memory:', REUSEID_PUBLIC_URL: baseUrl, REUSEID_LOG_LEVEL: 'silent' });
    const store = openStore(config.databaseUrl);
    await migrateToLatest(store.db);
    ctx = createContext({ config, store, masterKey: TEST_MASTER_KEY });
    app = await buildApp(ctx);
    await app.listen({ port, host: '127.0.0.1' });
    main = await rpClient();
    profile = mkdtempSync(join(tmpdir(), 'reuseid-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 900 },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await ctx?.store.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** An RP client of an account (the default one when omitted), with its access token. */
  async function rpClient(accountId?: string): Promise<RpClient> {
    const client = await ctx.clients.create(ctx.store.db, { name: 'browser test rp', accountId, permissions: ['reuseid-onboarding'] });
    const response = await fetch(`${baseUrl}/auth/open/connect/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    return { accountId: client.accountId, token: ((await response.json()) as { access_token: string }).access_token };
  }

  async function rp(method: 'GET' | 'POST', path: string, body?: unknown, client: RpClient = main): Promise<any> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${client.token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return ((await response.json()) as { data: unknown }).data;
  }

  /** An onboarding whose simulated device has sent a capture of one person's document and a selfie: returns the transaction and its case id. */
  async function capturedOnboarding(document: SampleImages, selfie: SampleImages, client: RpClient = main): Promise<{ transactionId: string; caseId: string }> {
    const options = { provider: 'signicatvideoid', videoidProviderOptions: { docTypes: [138], defaultId: 138 } };
    const started = await rp('POST', '/reuseid/onboarding', options, client);
    const device = await DeviceClient.create(baseUrl);
    const { transactionId } = await device.activate(started.activationCode);
    await device.call(
      'POST',
      `/device/v1/transactions/${transactionId}/proofing/signicatvideoid`,
      captureBody({ mrz: sampleMrz(), documentFront: b64(document['document-front.png']), selfie: b64(selfie['selfie.jpg']) }),
    );
    expect(await rp('GET', `/reuseid/onboarding/${transactionId}`, undefined, client)).toMatchObject({ status: 'Pending', stage: 'review' });
    const row = await ctx.store.db.selectFrom('videoid_cases').select('id').where('transaction_id', '=', transactionId).executeTakeFirstOrThrow();
    return { transactionId, caseId: row.id };
  }

  async function openCase(page: Page, caseId: string): Promise<void> {
    await page.goto(`${baseUrl}/console/queue`);
    await page.getByRole('button', { name: `Open case ${caseId.slice(0, 8)}` }).click();
    await page.waitForURL(`${baseUrl}/console/cases/${caseId}`);
  }

  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(`${baseUrl}/console`);
    await page.waitForURL(`${baseUrl}/console/sign-in`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(AGENT_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/console/queue`);
  }

  it('signs in, approves one case and rejects another', async () => {
    const agent = await createAgent({ ctx }, 'all');
    const [holder, stranger] = await Promise.all([samplePersonImages(1), samplePersonImages(2)]);
    const approved = await capturedOnboarding(holder, holder);
    const rejected = await capturedOnboarding(holder, stranger);
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });

    await signIn(page, agent.email);
    // The queue flags the capture whose selfie is another person's.
    expect(await page.locator('.flag').allTextContents()).toEqual(['Face mismatch']);

    await openCase(page, approved.caseId);
    expect(await page.getByLabel('First name').inputValue()).toBe('JANE');
    expect(await page.getByLabel('Document number').inputValue()).toBe('AB1234567');
    const images = page.locator('.faces img');
    expect(await images.count()).toBe(2);
    await page.waitForFunction(() => [...document.querySelectorAll('.faces img')].every((img) => (img as HTMLImageElement).complete));
    const widths = await images.evaluateAll((nodes) => nodes.map((node) => (node as HTMLImageElement).naturalWidth));
    expect(widths).toEqual([960, 480]);
    // The automated comparison beside the two faces: score, threshold and decision, visible to the agent.
    const score = page.locator('.faces .score');
    expect(await score.isVisible()).toBe(true);
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's locator method, rendered text is the point
    expect(await score.innerText()).toMatch(new RegExp(`Score\\s+0\\.\\d{4}\\s+Threshold\\s+${ctx.faces.threshold}\\s+Decision\\s+Match`));
    // The selfie's advisory presentation-attack scores, labelled as such.
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    expect(await score.innerText()).toMatch(/Selfie liveness \(advisory\)\s+antispoof [01]\.\d{2}, liveness [01]\.\d{2}/);
    expect(await page.getByText('Automated aid only').isVisible()).toBe(true);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${baseUrl}/console/queue?done=approved`);
    expect(await page.getByRole('status').textContent()).toContain('Case approved');
    expect(await rp('GET', `/reuseid/onboarding/${approved.transactionId}`)).toMatchObject({
      status: 'Completed',
      userData: { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' },
    });

    await openCase(page, rejected.caseId);
    await page.getByLabel('Reason').selectOption('face_mismatch');
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.waitForURL(`${baseUrl}/console/queue?done=rejected`);
    expect(await rp('GET', `/reuseid/onboarding/${rejected.transactionId}`)).toMatchObject({ status: 'Failed', failureReason: 'face_mismatch' });
    expect(cspViolations).toEqual([]);
  }, 180_000);

  it("lists only its account's cases in the queue of an account's agent; another account's case page is not found", async () => {
    const other = await rpClient('browser-bank-b');
    const holder = await samplePersonImages(1);
    const mine = await capturedOnboarding(holder, holder);
    const theirs = await capturedOnboarding(holder, holder, other);
    const agent = await createAgent({ ctx }, [main.accountId]);
    // A new person at the browser: the previous test's agent is still signed in.
    await browser.clearCookies();
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    await signIn(page, agent.email);

    expect(await page.getByRole('button', { name: `Open case ${mine.caseId.slice(0, 8)}` }).count()).toBe(1);
    expect(await page.getByRole('button', { name: `Open case ${theirs.caseId.slice(0, 8)}` }).count()).toBe(0);
    expect(await page.content()).not.toContain(theirs.caseId);
    const response = await page.goto(`${baseUrl}/console/cases/${theirs.caseId}`);
    expect(response?.status()).toBe(404);
    expect(await page.getByRole('main').textContent()).toContain('There is no such case.');
    await page.close();
  }, 180_000);
});

interface RpClient {
  accountId: string;
  token: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
