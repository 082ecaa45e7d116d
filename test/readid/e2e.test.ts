import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { BIN, cliJson, type ServerOnDatabase, startServerOn } from '../support/server-process.js';

/**
 * ReadID end to end: synthetic passports from `reuseid passport generate`, their CSCAs imported with `reuseid trust
 * import`, the real server process (not in sandbox mode), an RP over HTTP and the device simulator reading the
 * passport directory and answering the server's Active Authentication challenge with the chip key.
 */
const run = promisify(execFile);

for (const database of testDatabases) {
  describe(`readid end to end with the server process (${database.name})`, () => {
    let server: ServerOnDatabase;
    let dir: string;
    const cli = (...args: string[]) => cliJson(server.env, ...args);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'reuseid-readid-e2e-'));
      await run('node', [BIN, 'passport', 'generate', '--out', join(dir, 'genuine')]);
      await run('node', [BIN, 'passport', 'generate', '--out', join(dir, 'tampered'), '--variant', 'tampered-dg1', '--document-number', 'X1234567']);
      const trustStore = join(dir, 'trust-store');
      await run('node', [BIN, 'trust', 'import', join(dir, 'genuine', 'csca.pem'), join(dir, 'tampered', 'csca.pem'), '--store', trustStore]);
      server = await startServerOn(database, {
        REUSEID_SANDBOX: 'false',
        REUSEID_TRUST_STORE: trustStore,
        REUSEID_MASTER_KEY: Buffer.alloc(32, 5).toString('base64'),
      });
    });

    afterAll(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('onboards and steps up with a passport chip, and fails a tampered one', async () => {
      const client = await cli('clients', 'create', '--name', 'readid e2e', '--account', 'readid-bank', '--permission', 'reuseid-onboarding');
      const tokenResponse = await fetch(`${server.baseUrl}/auth/open/connect/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
      const rp = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server.baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      const passportData = { firstName: 'ANNA MARIA', lastName: 'ERIKSSON', dateOfBirth: '1974-08-12', gender: 'F', nationality: 'UTO' };

      const start = await rp('POST', '/reuseid/onboarding', { externalRef: 'readid-e2e', provider: 'readid' });
      expect(start.status).toBe(200);
      const { transactionId, userId, activationCode } = start.body.data;
      const state = join(dir, 'device.json');
      const activated = await cli('device', 'activate', '--server', server.baseUrl, '--activation-code', activationCode, '--state', state);
      expect(activated.postOperationContext.signicatOperation).toMatchObject({
        provider: 'readid',
        processType: 'ready',
        readid: { activeAuthentication: { challenge: expect.stringMatching(/^[0-9a-f]{16}$/) } },
      });
      const proofed = await cli('device', 'proof', '--state', state, '--provider', 'readid', '--passport', join(dir, 'genuine'));
      expect(proofed).toMatchObject({ status: 'Completed', readid: { verdict: 'accepted', checks: { activeAuthentication: 'SUCCEEDED' } } });
      expect((await rp('GET', `/reuseid/onboarding/${transactionId}`)).body.data).toMatchObject({
        status: 'Completed',
        userId,
        deviceId: activated.deviceId,
        userData: passportData,
      });

      const stepUp = await rp('POST', '/reuseid/step-up', { userId, deviceId: activated.deviceId, provider: 'readid' });
      expect(stepUp.status).toBe(200);
      await cli('device', 'approve', '--state', state);
      const stepped = await cli('device', 'proof', '--state', state, '--provider', 'readid', '--passport', join(dir, 'genuine'));
      expect(stepped.status).toBe('Completed');
      expect((await rp('GET', `/reuseid/step-up/${stepUp.body.data.transactionId}`)).body.data).toMatchObject({ status: 'Completed', userData: passportData });

      const second = await rp('POST', '/reuseid/onboarding', { provider: 'readid' });
      const otherState = join(dir, 'device2.json');
      await cli('device', 'activate', '--server', server.baseUrl, '--activation-code', second.body.data.activationCode, '--state', otherState);
      const tampered = await cli('device', 'proof', '--state', otherState, '--provider', 'readid', '--passport', join(dir, 'tampered'));
      expect(tampered).toMatchObject({
        status: 'Failed',
        failureReason: 'chip_verification_failed',
        readid: { verdict: 'rejected', checks: { dataGroupHashes: 'FAILED', certificateChain: 'SUCCEEDED' } },
      });
      expect((await rp('GET', `/reuseid/onboarding/${second.body.data.transactionId}`)).body.data).toMatchObject({
        status: 'Failed',
        failureReason: 'chip_verification_failed',
      });
    });

    it('logs the trust store it loaded, and no personal data', async () => {
      expect(server.output()).toMatch(/"cscas":2.*readid trust store loaded/);
      for (const personal of ['ERIKSSON', 'ANNA MARIA', '1974-08-12', 'L898902C3']) expect(server.output()).not.toContain(personal);
      expect(await server.stop()).toBe(0);
    });
  });
}
