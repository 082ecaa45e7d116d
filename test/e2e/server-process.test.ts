import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { cliJson, startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * End to end: the real server process (`reuseid serve`, as `npm start` runs it), an RP over HTTP, and a device
 * through the simulator CLI — each a separate process, as in production.
 */
const SEED_BODY = { externalRef: 'Empl10300469', provider: 'signicatvideoid', videoidProviderOptions: { docType: 138, docTypes: [138, 123], defaultId: 138 } };

for (const database of testDatabases) {
  describe(`end to end with the server process (${database.name})`, () => {
    let server: ServerProcess;
    let baseUrl: string;
    let dir: string;
    let dropDatabase: () => Promise<void>;

    const cli = (...args: string[]) => cliJson(server.env, ...args);
    const rpToken = async (clientId: string, secret: string) => {
      const res = await fetch(`${baseUrl}/auth/open/connect/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=signicat-api',
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { access_token: string }).access_token;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'reuseid-e2e-'));
      const created = database.name === 'sqlite' ? { url: `sqlite:${join(dir, 'reuseid.db')}`, drop: async () => undefined } : await database.create();
      dropDatabase = created.drop;
      server = await startServerProcess({ REUSEID_DATABASE_URL: created.url, REUSEID_SANDBOX: 'true', REUSEID_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') });
      baseUrl = server.baseUrl;
    });

    afterAll(async () => {
      await server.stop();
      await dropDatabase();
      rmSync(dir, { recursive: true, force: true });
    });

    it('onboards with the seed body, steps up on the device, and fails a rejected proof', async () => {
      const client = await cli('clients', 'create', '--name', 'e2e rp', '--account', 'e2e-bank', '--permission', 'reuseid-onboarding');
      expect(client).toMatchObject({ accountId: 'e2e-bank', permissions: ['reuseid-onboarding'] });
      const token = await rpToken(client.clientId, client.clientSecret);
      const rp = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
        expect(res.headers.get('x-trace-id')).toBeTruthy();
        return { status: res.status, body: (await res.json()) as any };
      };

      const start = await rp('POST', '/reuseid/onboarding', SEED_BODY);
      expect(start.status).toBe(200);
      const { transactionId, userId, activationCode } = start.body.data;
      const stateFile = join(dir, 'device.json');
      const activated = await cli('device', 'activate', '--server', baseUrl, '--activation-code', activationCode, '--state', stateFile);
      expect(activated.postOperationContext.signicatOperation).toMatchObject({ operation: 'onboarding', provider: 'signicatvideoid', transactionId });
      const proofed = await cli('device', 'proof', '--server', baseUrl, '--state', stateFile, '--provider', 'sandbox', '--outcome', 'accepted', '--first-name', 'JANE', '--last-name', 'SMITH', '--date-of-birth', '1990-01-01', '--gender', 'F', '--nationality', 'NOR');
      expect(proofed.status).toBe('Completed');
      const onboarding = await rp('GET', `/reuseid/onboarding/${transactionId}`);
      expect(onboarding.body.data).toMatchObject({
        status: 'Completed', transactionId, userId, deviceId: activated.deviceId,
        userData: { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' },
      });
      expect(onboarding.body.data.proofingId).toBeTruthy();

      const stepUp = await rp('POST', '/reuseid/step-up', { userId, deviceId: activated.deviceId, provider: 'readid' });
      expect(stepUp.status).toBe(200);
      const approved = await cli('device', 'approve', '--server', baseUrl, '--state', stateFile);
      expect(approved.preOperation).toEqual({ operation: 'stepup', provider: 'readid', processType: 'ready' });
      expect(approved.postOperationContext.signicatOperation).toMatchObject({ operation: 'stepup', transactionId: stepUp.body.data.transactionId });
      await cli('device', 'proof', '--state', stateFile, '--provider', 'sandbox', '--last-name', 'SMITH-NORDMANN');
      const stepUpResult = await rp('GET', `/reuseid/step-up/${stepUp.body.data.transactionId}`);
      expect(stepUpResult.body.data).toMatchObject({ status: 'Completed', deviceId: activated.deviceId, userData: { lastName: 'SMITH-NORDMANN' } });

      const second = await rp('POST', '/reuseid/onboarding', {});
      const otherState = join(dir, 'device2.json');
      await cli('device', 'activate', '--server', baseUrl, '--activation-code', second.body.data.activationCode, '--state', otherState);
      const rejected = await cli('device', 'proof', '--state', otherState, '--provider', 'sandbox', '--outcome', 'rejected');
      expect(rejected.status).toBe('Failed');
      expect((await rp('GET', `/reuseid/onboarding/${second.body.data.transactionId}`)).body.data.status).toBe('Failed');
    });

    it('serves the OpenAPI document and its rendering, health and readiness', async () => {
      const openapi = (await (await fetch(`${baseUrl}/reuseid/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(openapi.openapi).toBe('3.1.0');
      expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/reuseid/onboarding', '/reuseid/onboarding/{transactionId}', '/reuseid/step-up', '/reuseid/step-up/{transactionId}', '/device/v1/activations']));
      expect((await fetch(`${baseUrl}/docs/`)).status).toBe(200);
      expect(await (await fetch(`${baseUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    });

    it('keeps secrets and personal data out of the logs, and stops gracefully on SIGTERM', async () => {
      expect(server.output()).toContain('reuseid server listening');
      for (const secret of ['JANE', 'SMITH', '1990-01-01', 'rsec_', 'Bearer ey']) expect(server.output()).not.toContain(secret);
      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain('stopped');
    });
  });
}
