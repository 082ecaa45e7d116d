import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { MAX_FAILURES_PER_EMAIL } from '../../src/console/agents.js';
import { verifyPassword } from '../../src/console/passwords.js';
import { IDLE_MS } from '../../src/console/sessions.js';
import { createContext } from '../../src/context.js';
import { testDatabases } from '../support/databases.js';
import { TEST_MASTER_KEY, useHarness } from '../support/harness.js';
import { AGENT_PASSWORD, caseIdOf, ConsoleBrowser, createAgent, signedInAgent, upload, useInstantFaces, videoIdTransaction } from '../videoid/support.js';

for (const database of testDatabases) {
  describe(`agent console security (${database.name})`, () => {
    const t = useHarness(database);
    useInstantFaces(t);

    it('stores passwords as salted scrypt hashes and sets a strict session cookie and security headers', async () => {
      const { agent, browser } = await signedInAgent(t.h);
      const row = await t.h.ctx.store.db.selectFrom('console_agents').select('password_hash').where('id', '=', agent.id).executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$17\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
      expect(await verifyPassword(AGENT_PASSWORD, row.password_hash)).toBe(true);
      expect(await verifyPassword('wrong password!!', row.password_hash)).toBe(false);

      const fresh = new ConsoleBrowser(t.h);
      await fresh.get('/console/sign-in');
      const signIn = await fresh.post('/console/sign-in', { email: agent.email, password: AGENT_PASSWORD });
      const sessionCookie = ([] as string[]).concat(signIn.headers['set-cookie'] as string[]).find((c) => c.startsWith('reuseid-console='))!;
      expect(sessionCookie).toMatch(/Path=\/console/);
      expect(sessionCookie).toMatch(/HttpOnly/);
      expect(sessionCookie).toMatch(/SameSite=Strict/);
      const stored = await t.h.ctx.store.db.selectFrom('console_sessions').select('id_hash').execute();
      expect(stored.map((s) => s.id_hash)).not.toContain(fresh.cookies.get('reuseid-console'));

      const page = await browser.get('/console/queue');
      expect(page.status).toBe(200);
      expect(page.headers['content-security-policy']).toContain("default-src 'none'");
      expect(page.headers['content-security-policy']).not.toContain('script-src');
      expect(page.headers).toMatchObject({
        'cache-control': 'no-store',
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'same-origin',
      });
      expect(page.body).not.toMatch(/<script|style="/);
    });

    it('serves the case images only to the agent holding the claim, never cached', async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      await upload(device, transactionId);
      const caseId = await caseIdOf(t.h, transactionId);
      const { browser } = await signedInAgent(t.h);
      expect((await browser.get(`/console/cases/${caseId}/evidence/selfie`)).status).toBe(404);
      await browser.post(`/console/cases/${caseId}/claim`, {});
      const image = await browser.get(`/console/cases/${caseId}/evidence/selfie`);
      expect(image.status).toBe(200);
      expect(image.headers).toMatchObject({ 'content-type': 'image/jpeg', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      expect((await browser.get(`/console/cases/${caseId}/evidence/passwd`)).status).toBe(404);
    });

    it("refuses form posts without the session's CSRF token or from another origin", async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      await upload(device, transactionId);
      const caseId = await caseIdOf(t.h, transactionId);
      const { browser } = await signedInAgent(t.h);
      const token = browser.csrf;
      browser.csrf = '';
      expect((await browser.post(`/console/cases/${caseId}/claim`, {})).status).toBe(403);
      browser.csrf = 'a'.repeat(token.length);
      expect((await browser.post(`/console/cases/${caseId}/claim`, {})).status).toBe(403);
      browser.csrf = token;
      expect((await browser.post(`/console/cases/${caseId}/claim`, {}, { origin: 'https://evil.example' })).status).toBe(403);
      expect((await browser.post(`/console/cases/${caseId}/claim`, {}, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
      const other = await signedInAgent(t.h);
      browser.csrf = other.browser.csrf; // another session's token is not this session's
      expect((await browser.post(`/console/cases/${caseId}/claim`, {})).status).toBe(403);
      browser.csrf = token;
      expect((await browser.post(`/console/cases/${caseId}/claim`, {})).status).toBe(303);

      const agent = await createAgent(t.h);
      const stranger = new ConsoleBrowser(t.h);
      await stranger.get('/console/sign-in');
      stranger.csrf = 'forged';
      expect((await stranger.post('/console/sign-in', { email: agent.email, password: AGENT_PASSWORD })).status).toBe(403);
    });

    it('locks sign-in after repeated failures, in the database: across restarts and instances', async () => {
      const agent = await createAgent(t.h);
      const browser = new ConsoleBrowser(t.h);
      await browser.get('/console/sign-in');
      for (let i = 0; i < MAX_FAILURES_PER_EMAIL; i++)
        expect((await browser.post('/console/sign-in', { email: agent.email, password: 'not the password' })).status).toBe(401);
      const locked = await browser.post('/console/sign-in', { email: agent.email.toUpperCase(), password: AGENT_PASSWORD });
      expect(locked.status).toBe(429);
      expect(locked.body).toContain('Too many failed sign-ins');

      const otherInstance = await buildApp(createContext({ config: t.h.ctx.config, store: t.h.ctx.store, masterKey: TEST_MASTER_KEY, clock: t.h.clock }));
      try {
        const elsewhere = new ConsoleBrowser({ ...t.h, app: otherInstance });
        await elsewhere.get('/console/sign-in');
        expect((await elsewhere.post('/console/sign-in', { email: agent.email, password: AGENT_PASSWORD })).status).toBe(429);
      } finally {
        await otherInstance.close();
      }
      await t.h.ctx.auditSequencer.sequenceNow();
      const failures = await t.h.ctx.store.db.selectFrom('audit_items').select('body').where('event_type', '=', 'console.sign_in_failed').execute();
      expect(failures.length).toBeGreaterThanOrEqual(MAX_FAILURES_PER_EMAIL);
    });

    it('ends sessions at sign-out and after idling', async () => {
      const { browser } = await signedInAgent(t.h);
      const stolen = browser.cookies.get('reuseid-console')!;
      expect((await browser.post('/console/sign-out', {})).headers.location).toBe('/console/sign-in');
      const replay = new ConsoleBrowser(t.h);
      replay.cookies.set('reuseid-console', stolen);
      expect((await replay.get('/console/queue')).headers.location).toBe('/console/sign-in');

      const idle = await signedInAgent(t.h);
      const realTime = t.h.clock.now();
      t.h.clock.advance(IDLE_MS + 1000);
      try {
        expect((await idle.browser.get('/console/queue')).headers.location).toBe('/console/sign-in');
      } finally {
        t.h.clock.set(realTime);
      }
    });

    it('keeps agents and API clients apart: a session cookie reaches no RP or admin endpoint, a bearer token no console page', async () => {
      const { browser } = await signedInAgent(t.h);
      const cookie = `reuseid-console=${browser.cookies.get('reuseid-console')}`;
      const id = '00000000-0000-4000-8000-000000000000';
      const endpoints: [string, string][] = [
        ['POST', '/reuseid/onboarding'],
        ['GET', `/reuseid/onboarding/${id}`],
        ['POST', '/reuseid/step-up'],
        ['GET', `/reuseid/step-up/${id}`],
        ['GET', `/reuseid/users/${id}`],
        ['POST', '/events/subscriptions'],
        ['GET', `/events/subscriptions/${id}`],
        ['POST', '/audit/query'],
        ['GET', `/audit/items/${id}`],
      ];
      let checked = 0;
      for (const [method, url] of endpoints) {
        if (!t.h.app.hasRoute({ method: method as 'GET', url: url.replace(id, ':id') }) && !(await exists(method, url))) continue;
        const res = await t.h.app.inject({
          method: method as 'GET',
          url,
          headers: { cookie, 'content-type': 'application/json' },
          ...(method === 'POST' ? { payload: '{}' } : {}),
        });
        // Some POST routes validate the body before authenticating (422 for `{}`): refused either way, never served.
        const refused = res.statusCode === 401 ? 'invalid_token' : method === 'POST' && res.statusCode === 422 ? 'invalid_request_parameter' : 'served';
        expect({ method, url, code: res.json().code }).toEqual({ method, url, code: refused });
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(4);

      const withBearer = await t.h.app.inject({ method: 'GET', url: '/console/queue', headers: { authorization: `Bearer ${t.rp.token}` } });
      expect(withBearer.statusCode).toBe(303);
      expect(withBearer.headers.location).toBe('/console/sign-in');
    });

    /** A route exists when an anonymous call is not answered with "no such route". */
    async function exists(method: string, url: string): Promise<boolean> {
      const res = await t.h.app.inject({
        method: method as 'GET',
        url,
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { payload: '{}' } : {}),
      });
      return !(res.statusCode === 404 && res.json().code === 'not_found');
    }
  });
}
