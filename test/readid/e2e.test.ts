import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePeople } from '../../src/testing/faces/index.js';
import { testDatabases } from '../support/databases.js';
import { BIN, cliJson, startServerProcess, type ServerProcess } from '../support/server-process.js';

/**
 * ReadID end to end: synthetic passports from `reuseid passport generate`, their CSCAs imported with `reuseid trust
 * import`, the real server process (not in sandbox mode), an RP over HTTP and the device simulator reading the
 * passport directory and answering the server's Active Authentication challenge with the chip key.
 */
const run = promisify(execFile);

for (const database of testDatabases) {
  describe(`readid end to end with the server process (${database.name})`, () => {
    let server: ServerProcess;
    let dir: string;
    let dropDatabase: () => Promise<void>;
    const cli = (...args: string[]) => cliJson(server.env, ...args);
    /** The error code a failing `--json` command prints on stdout. */
    const cliFailure = async (...args: string[]): Promise<string> => {
      const failed = await cli(...args).then(
        () => null,
        (error: { stdout: string }) => error,
      );
      if (!failed) throw new Error(`reuseid ${args.join(' ')} succeeded`);
      return (JSON.parse(failed.stdout) as { error: { code: string } }).error.code;
    };
    // The user the first test onboards (chip, face, step-ups), whose identity the wallet test issues.
    let enrolled: { userId: string; accountId: string };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'reuseid-readid-e2e-'));
      // Two real people: each one's document photo for a chip, and a selfie taken another day for the app to send.
      const [holder, other] = await samplePeople();
      for (const [name, person] of Object.entries({ holder, other })) {
        writeFileSync(join(dir, `${name}-document.jpg`), person!.documentPhoto);
        writeFileSync(join(dir, `${name}-selfie.jpg`), person!.selfie);
      }
      const photo = (name: string, format = 'jpeg') => ['--photo', join(dir, `${name}-document.jpg`), '--photo-format', format];
      // The holder's chip photo in JPEG 2000, as most states store it.
      await run('node', [BIN, 'passport', 'generate', '--out', join(dir, 'genuine'), ...photo('holder', 'jpeg2000')]);
      await run('node', [BIN, 'passport', 'generate', '--out', join(dir, 'tampered'), '--variant', 'tampered-dg1', '--document-number', 'X1234567']);
      // The holder's renewed passport (new number and expiry), and another person's genuine one.
      await run('node', [
        BIN,
        'passport',
        'generate',
        '--out',
        join(dir, 'renewed'),
        '--document-number',
        'R7654321',
        '--expiry',
        '2036-03-31',
        ...photo('holder'),
      ]);
      const stranger = ['--first-name', 'JOHN', '--last-name', 'DOE', '--date-of-birth', '1980-02-03', '--gender', 'M', '--document-number', 'S1111111'];
      await run('node', [BIN, 'passport', 'generate', '--out', join(dir, 'stranger'), ...stranger, ...photo('other')]);
      const trustStore = join(dir, 'trust-store');
      const cscas = ['genuine', 'tampered', 'renewed', 'stranger'].map((name) => join(dir, name, 'csca.pem'));
      await run('node', [BIN, 'trust', 'import', ...cscas, '--store', trustStore]);
      const created = database.name === 'sqlite' ? { url: `sqlite:${join(dir, 'reuseid.db')}`, drop: async () => undefined } : await database.create();
      dropDatabase = created.drop;
      server = await startServerProcess({
        REUSEID_DATABASE_URL: created.url,
        REUSEID_SANDBOX: 'false',
        REUSEID_TRUST_STORE: trustStore,
        REUSEID_MASTER_KEY: Buffer.alloc(32, 5).toString('base64'),
      });
    });

    afterAll(async () => {
      await server?.stop();
      await dropDatabase?.();
      rmSync(dir, { recursive: true, force: true });
    });

    it('onboards and steps up with a passport chip, and fails a tampered one', async () => {
      const client = await cli('clients', 'create', '--name', 'readid e2e', '--account', 'readid-bank', '--permission', 'reuseid-onboarding', 'reuseid-users');
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
      const selfie = (name: string) => join(dir, `${name}-selfie.jpg`);
      const proof = (deviceState: string, passport: string, face: string) =>
        cli('device', 'proof', '--state', deviceState, '--provider', 'readid', '--passport', join(dir, passport), '--selfie', selfie(face));
      const proofed = await proof(state, 'genuine', 'holder');
      expect(proofed).toMatchObject({ status: 'Completed', readid: { verdict: 'accepted', checks: { activeAuthentication: 'SUCCEEDED' } } });
      const onboarded = (await rp('GET', `/reuseid/onboarding/${transactionId}`)).body.data;
      expect(onboarded).toMatchObject({
        status: 'Completed',
        userId,
        deviceId: activated.deviceId,
        userData: passportData,
        assuranceLevel: 'high',
        verification: { document: 'chip', cloneDetection: 'active_authentication', faceMatch: { match: true }, reviewedByAgent: false },
      });
      expect(onboarded.verification.faceMatch.score).toBeGreaterThanOrEqual(onboarded.verification.faceMatch.threshold);

      const stepUpWith = async (passport: string, face: string) => {
        const stepUp = await rp('POST', '/reuseid/step-up', { userId, deviceId: activated.deviceId, provider: 'readid' });
        expect(stepUp.status).toBe(200);
        await cli('device', 'approve', '--state', state);
        await proof(state, passport, face);
        return (await rp('GET', `/reuseid/step-up/${stepUp.body.data.transactionId}`)).body.data;
      };
      const attributes = async () => (await rp('GET', `/reuseid/users/${userId}`)).body.data.attributes;
      expect(await stepUpWith('genuine', 'holder')).toMatchObject({ status: 'Completed', userData: passportData, assuranceLevel: 'high' });
      // Another person's genuine passport and face do not prove this user, and change nothing; the holder's renewed one does.
      const before = await attributes();
      expect(await stepUpWith('stranger', 'other')).toMatchObject({ status: 'Failed', failureReason: 'identity_mismatch' });
      expect(await attributes()).toEqual(before);
      expect(await stepUpWith('renewed', 'holder')).toMatchObject({ status: 'Completed', userData: passportData, assuranceLevel: 'high' });
      expect((await attributes()).documentNumber).toMatchObject({ value: 'R7654321' });

      const newOnboarding = async (stateFile: string) => {
        const started = await rp('POST', '/reuseid/onboarding', { provider: 'readid' });
        await cli('device', 'activate', '--server', server.baseUrl, '--activation-code', started.body.data.activationCode, '--state', join(dir, stateFile));
        return started.body.data.transactionId as string;
      };
      const tamperedTx = await newOnboarding('device2.json');
      expect(await proof(join(dir, 'device2.json'), 'tampered', 'holder')).toMatchObject({
        status: 'Failed',
        failureReason: 'chip_verification_failed',
        readid: { verdict: 'rejected', checks: { dataGroupHashes: 'FAILED', certificateChain: 'SUCCEEDED' } },
      });
      expect((await rp('GET', `/reuseid/onboarding/${tamperedTx}`)).body.data).toMatchObject({ status: 'Failed', failureReason: 'chip_verification_failed' });
      // A genuine passport in the hands of someone else than its holder.
      const impostorTx = await newOnboarding('device3.json');
      expect(await proof(join(dir, 'device3.json'), 'stranger', 'holder')).toMatchObject({ status: 'Failed', readid: { reason: 'face_mismatch' } });
      expect((await rp('GET', `/reuseid/onboarding/${impostorTx}`)).body.data).toMatchObject({ status: 'Failed', failureReason: 'face_mismatch' });
      enrolled = { userId, accountId: client.accountId as string };
    }, 240_000); // fifteen CLI processes, each starting Node, and the face model: seconds apiece on a busy machine

    it("issues the chip-verified identity to the simulator's wallet; an independent verifier accepts it until it is revoked", async () => {
      const issuer = await cli('clients', 'create', '--name', 'wallet issuer', '--account', enrolled.accountId, '--permission', 'reuseid-credentials');
      const tokenResponse = await fetch(`${server.baseUrl}/auth/open/connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: issuer.clientId, client_secret: issuer.clientSecret }).toString(),
      });
      const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
      const post = async (path: string) => {
        const res = await fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, body: (await res.json()) as any };
      };
      const offer = await post(`/reuseid/users/${enrolled.userId}/credential-offers`);
      expect(offer.status).toBe(201);
      const wallet = join(dir, 'wallet.json');
      const received = await cli('wallet', 'receive', '--offer', offer.body.credentialOfferUri, '--tx-code', offer.body.txCode, '--state', wallet);
      // The holder's renewed passport (expiring 2036-03-31) was the last proofing: the credential states it, at level high.
      expect(received.claims).toMatchObject({
        given_name: 'ANNA MARIA',
        family_name: 'ERIKSSON',
        birthdate: '1974-08-12',
        nationalities: ['UTO'],
        sex: 2,
        age_equal_or_over: { '18': true, '21': true },
        document_type: 'P',
        document_issuing_country: 'UTO',
        document_expiry_date: '2036-03-31',
        assurance_level: 'high',
        verification_method: { document: 'chip', clone_detection: 'active_authentication', face_match: true, reviewed_by_agent: false },
      });
      // Replaying the offer is refused: its code was spent.
      expect(
        await cliFailure('wallet', 'receive', '--offer', offer.body.credentialOfferUri, '--tx-code', offer.body.txCode, '--state', join(dir, 'w2.json')),
      ).toBe('wallet.invalid_grant');

      const presented = await cli('wallet', 'present', '--state', wallet, '--disclose', 'given_name', '--audience', 'https://shop.example', '--nonce', 'n-42');
      const verify = () =>
        cli('wallet', 'verify', '--presentation', presented.presentation, '--audience', 'https://shop.example', '--nonce', 'n-42', '--issuer', server.baseUrl);
      const verified = await verify();
      expect(verified).toMatchObject({ valid: true, issuer: server.baseUrl, claims: { given_name: 'ANNA MARIA' }, status: { value: 0 } });
      expect(Object.keys(verified.claims)).toEqual(['given_name']);

      const revoked = await post(`/reuseid/users/${enrolled.userId}/credentials/revoke`);
      expect(revoked.body.revokedCredentialIds).toHaveLength(1);
      expect(await cliFailure('wallet', 'verify', '--presentation', presented.presentation, '--audience', 'https://shop.example', '--nonce', 'n-42')).toBe(
        'wallet.revoked',
      );
    }, 120_000);

    it('logs the trust store it loaded, and no personal data', async () => {
      expect(server.output()).toMatch(/"cscas":4.*readid trust store loaded/);
      for (const personal of ['ERIKSSON', 'ANNA MARIA', '1974-08-12', 'L898902C3', 'JOHN', '1980-02-03', 'S1111111'])
        expect(server.output()).not.toContain(personal);
      expect(await server.stop()).toBe(0);
    });
  });
}
