import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReuseIdClient, ReuseIdError } from '../../src/client/index.js';
import { testDatabases } from '../support/databases.js';
import { cliJson, type ServerOnDatabase, startServerOn } from '../support/server-process.js';

/**
 * End to end: the real server process (`reuseid serve`, as `npm start` runs it), an RP through the RP client over
 * HTTP, and a device through the simulator CLI — each a separate process, as in production.
 */
const SEED_BODY = { externalRef: 'Empl10300469', provider: 'signicatvideoid', videoidProviderOptions: { docType: 138, docTypes: [138, 123], defaultId: 138 } };

for (const database of testDatabases) {
  describe(`end to end with the server process (${database.name})`, () => {
    let server: ServerOnDatabase;
    let baseUrl: string;
    let dir: string;

    const cli = (...args: string[]) => cliJson(server.env, ...args);
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'reuseid-e2e-'));
      server = await startServerOn(database, {
        REUSEID_SANDBOX: 'true',
        REUSEID_MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
      });
      baseUrl = server.baseUrl;
    });

    afterAll(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('onboards with the seed body, steps up on the device, and fails a rejected proof', async () => {
      const client = await cli('clients', 'create', '--name', 'e2e rp', '--account', 'e2e-bank', '--permission', 'reuseid-onboarding');
      expect(client).toMatchObject({ accountId: 'e2e-bank', permissions: ['reuseid-onboarding'] });
      const rp = new ReuseIdClient({ baseUrl, clientId: client.clientId, clientSecret: client.clientSecret, scope: 'signicat-api' });

      const start = await rp.startOnboarding(SEED_BODY);
      const { transactionId, userId, activationCode } = start;
      expect(start).toMatchObject({ status: 'Pending', activationCode: expect.any(String) });
      const stateFile = join(dir, 'device.json');
      const activated = await cli('device', 'activate', '--server', baseUrl, '--activation-code', activationCode!, '--state', stateFile);
      expect(activated.postOperationContext.signicatOperation).toMatchObject({ operation: 'onboarding', provider: 'signicatvideoid', transactionId });
      const proofed = await cli(
        'device',
        'proof',
        '--server',
        baseUrl,
        '--state',
        stateFile,
        '--provider',
        'sandbox',
        '--outcome',
        'accepted',
        '--first-name',
        'JANE',
        '--last-name',
        'SMITH',
        '--date-of-birth',
        '1990-01-01',
        '--gender',
        'F',
        '--nationality',
        'NOR',
      );
      expect(proofed.status).toBe('Completed');
      const onboarding = await rp.getOnboarding(transactionId);
      expect(onboarding).toMatchObject({
        status: 'Completed',
        transactionId,
        userId,
        deviceId: activated.deviceId,
        userData: { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' },
      });
      expect(onboarding.proofingId).toBeTruthy();

      const stepUp = await rp.startStepUp({ userId, deviceId: activated.deviceId, provider: 'readid' });
      expect(stepUp).toMatchObject({ status: 'Pending', userId, deviceId: activated.deviceId });
      const approved = await cli('device', 'approve', '--server', baseUrl, '--state', stateFile);
      expect(approved.preOperation).toEqual({ operation: 'stepup', provider: 'readid', processType: 'ready' });
      expect(approved.postOperationContext.signicatOperation).toMatchObject({ operation: 'stepup', transactionId: stepUp.transactionId });
      // The same person with the name spelled otherwise binds; a step-up never rewrites the enrolled identity.
      await cli('device', 'proof', '--state', stateFile, '--provider', 'sandbox', '--last-name', 'Smith');
      expect(await rp.getStepUp(stepUp.transactionId)).toMatchObject({
        status: 'Completed',
        deviceId: activated.deviceId,
        userData: { lastName: 'Smith' },
        assuranceLevel: 'low',
      });

      const second = await rp.startOnboarding();
      const otherState = join(dir, 'device2.json');
      await cli('device', 'activate', '--server', baseUrl, '--activation-code', second.activationCode!, '--state', otherState);
      const rejected = await cli('device', 'proof', '--state', otherState, '--provider', 'sandbox', '--outcome', 'rejected');
      expect(rejected.status).toBe('Failed');
      expect((await rp.getOnboarding(second.transactionId)).status).toBe('Failed');
    });

    it('answers errors as ReuseIdError: an unknown transaction, a bad step-up body, refused credentials', async () => {
      const client = await cli('clients', 'create', '--name', 'e2e errors', '--account', 'e2e-bank', '--permission', 'reuseid-onboarding');
      const rp = new ReuseIdClient({ baseUrl, clientId: client.clientId, clientSecret: client.clientSecret });
      const unknown = await rp.getOnboarding('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(ReuseIdError);
      expect(unknown).toMatchObject({ code: 'transaction_not_found', status: 404, title: 'Transaction not found' });
      expect((unknown as ReuseIdError).traceId).toMatch(/\S/);

      const invalid = (await rp.startStepUp({ userId: 'not-a-uuid', deviceId: 'dev-1' }).catch((e: unknown) => e)) as ReuseIdError;
      expect(invalid).toMatchObject({ code: 'invalid_request_parameter', status: 422 });
      expect(invalid.invalidParams).toEqual([expect.objectContaining({ name: 'userId', reason: expect.stringContaining('UUID') })]);
      expect(invalid.traceId).toMatch(/\S/);

      const wrongSecret = new ReuseIdClient({ baseUrl, clientId: client.clientId, clientSecret: 'rsec_wrong' });
      await expect(wrongSecret.startOnboarding()).rejects.toMatchObject({ code: 'invalid_client', status: 401 });
    });

    it('serves the OpenAPI document and its rendering, health and readiness', async () => {
      const openapi = (await (await fetch(`${baseUrl}/reuseid/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(openapi.openapi).toBe('3.1.0');
      expect(Object.keys(openapi.paths)).toEqual(
        expect.arrayContaining([
          '/reuseid/onboarding',
          '/reuseid/onboarding/{transactionId}',
          '/reuseid/step-up',
          '/reuseid/step-up/{transactionId}',
          '/device/v1/activations',
        ]),
      );
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
