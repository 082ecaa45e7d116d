import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../support/server-process.js';
import { type FakeIssuer, IDENTITY, startFakeIssuer, VCT } from '../wallet/fake-issuer.js';
import { type CliRun, reuseidJson, runReuseid } from './support.js';

/** The built `reuseid wallet` against the fake issuer: receive, present, verify, and the JSON errors on the way. */
let issuer: FakeIssuer;
let dir: string;

beforeAll(async () => {
  issuer = await startFakeIssuer();
  dir = mkdtempSync(join(tmpdir(), 'reuseid-wallet-cli-'));
});
afterAll(async () => {
  await issuer.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `reuseid ARGS…` with `input` on standard input. */
function runWithInput(input: string, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn('node', [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('reuseid wallet', { timeout: 60_000 }, () => {
  it('receives a credential, presents two claims, and verifies the presentation', async () => {
    const state = join(dir, 'wallet.json');
    const offer = issuer.offer();
    const received = await reuseidJson(process.env, 'wallet', 'receive', '--offer', offer.uri, '--tx-code', offer.txCode, '--state', state);
    expect(received).toMatchObject({ issuer: issuer.url, vct: VCT, claims: IDENTITY, configurationId: 'reuseid_identity_sd_jwt' });

    const presented = await reuseidJson(process.env, 'wallet', 'present', '--state', state, '--disclose', 'given_name,age_equal_or_over.18');
    expect(presented).toMatchObject({ disclosed: ['age_equal_or_over.18', 'given_name'], audience: 'https://verifier.example' });
    expect(presented.nonce).toMatch(/^[\w-]{16,}$/);

    const verified = await reuseidJson(
      process.env,
      'wallet',
      'verify',
      '--presentation',
      presented.presentation,
      '--audience',
      'https://verifier.example',
      '--nonce',
      presented.nonce,
      '--issuer',
      issuer.url,
    );
    expect(verified).toMatchObject({
      valid: true,
      issuer: issuer.url,
      claims: { given_name: 'JANE', age_equal_or_over: { '18': true } },
      status: { state: 'valid' },
    });
    expect(verified.claims).not.toHaveProperty('family_name');

    // Without --json, present prints the bare presentation, which verify reads from standard input.
    const bare = await runReuseid(
      process.env,
      'wallet',
      'present',
      '--state',
      state,
      '--disclose',
      'birthdate',
      '--audience',
      'https://rp.example',
      '--nonce',
      'n-123',
    );
    expect(bare.code).toBe(0);
    expect(bare.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+~([\w-]+~)+[\w-]+\.[\w-]+\.[\w-]+$/);
    const fromStdin = await runWithInput(bare.stdout, 'wallet', 'verify', '--presentation', '-', '--audience', 'https://rp.example', '--nonce', 'n-123');
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toContain('valid: issued by');
    expect(fromStdin.stdout).toContain('birthdate: "1990-01-01"');
  });

  it('fails as JSON with wallet.CODE: a wrong PIN (the token endpoint’s invalid_grant), an unknown claim, a wrong nonce', async () => {
    const state = join(dir, 'errors.json');
    const offer = issuer.offer();
    const wrongPin = await runReuseid(process.env, 'wallet', 'receive', '--offer', offer.uri, '--tx-code', '111111', '--state', state, '--json');
    expect(wrongPin.code).toBe(1);
    expect(JSON.parse(wrongPin.stdout).error).toMatchObject({ code: 'wallet.invalid_grant' });

    const again = issuer.offer();
    await reuseidJson(process.env, 'wallet', 'receive', '--offer', again.uri, '--tx-code', again.txCode, '--state', state);
    const unknown = await runReuseid(process.env, 'wallet', 'present', '--state', state, '--disclose', 'shoe_size', '--json');
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ code: 'wallet.unknown_claim', message: expect.stringContaining('given_name') });

    const presented = await reuseidJson(process.env, 'wallet', 'present', '--state', state, '--disclose', 'given_name', '--nonce', 'right');
    const verify = (nonce: string, ...flags: string[]) =>
      runReuseid(process.env, 'wallet', 'verify', '--presentation', presented.presentation, '--audience', presented.audience, '--nonce', nonce, ...flags);
    const wrongNonce = await verify('wrong', '--json');
    expect(wrongNonce.code).toBe(1);
    expect(JSON.parse(wrongNonce.stdout).error.code).toBe('wallet.wrong_nonce');

    // Without --json the reason goes to stderr.
    issuer.setStatus(4711, 1);
    const revoked = await verify('right');
    issuer.setStatus(4711, 0);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/^reuseid: The credential is revoked/);
  });
});
