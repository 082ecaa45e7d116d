import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerIcaoCommands } from '../../src/icao/cli.js';
import { registerPassportCommands } from '../../src/testing/passports/cli.js';
import { signActiveAuthentication } from '../../src/icao/active-auth.js';
import type { VerificationResult } from '../../src/icao/verify.js';

/** Runs the commands in-process and captures what they print. */
async function run(...args: string[]): Promise<{ out: string; err: string; error?: CommanderError }> {
  let out = '';
  let err = '';
  const program = new Command('reuseid').exitOverride().configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (err += s) });
  const output = { write: (s: string) => void (out += s) };
  registerIcaoCommands(program, output);
  registerPassportCommands(program, output);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { out, err, error };
  }
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'icao-cli-'));
}

async function generate(dir: string, ...extra: string[]) {
  const { out, error } = await run('passport', 'generate', '--out', dir, '--json', ...extra);
  expect(error).toBeUndefined();
  return JSON.parse(out) as { files: string[]; mrz: string[]; algorithm: string };
}

async function verifyDir(dir: string, ...extra: string[]): Promise<VerificationResult> {
  const { out, error } = await run(
    'icao',
    'verify',
    '--sod',
    join(dir, 'EF_SOD.bin'),
    '--dg1',
    join(dir, 'EF_DG1.bin'),
    '--dg2',
    join(dir, 'EF_DG2.bin'),
    '--trust-store',
    join(dir, 'csca.pem'),
    '--json',
    ...extra,
  );
  expect(error).toBeUndefined();
  return JSON.parse(out) as VerificationResult;
}

describe('passport generate + icao verify', () => {
  it('generates a brainpool passport with custom holder data and verifies it as accepted', async () => {
    const dir = await tempDir();
    const summary = await generate(
      dir,
      '--algorithm',
      'brainpool-p256',
      '--last-name',
      'Mustermann',
      '--first-name',
      'Erika',
      '--nationality',
      'D',
      '--issuing-state',
      'D',
      '--date-of-birth',
      '1964-08-12',
      '--gender',
      'F',
      '--document-number',
      'C01X00T47',
      '--expiry',
      '2031-10-31',
      '--aa-key',
      'none',
    );
    expect(summary.algorithm).toBe('brainpool-p256');
    expect(summary.mrz[0]).toMatch(/^P<D<<MUSTERMANN<<ERIKA</);
    expect((await readdir(dir)).sort()).toEqual(['EF_COM.bin', 'EF_DG1.bin', 'EF_DG2.bin', 'EF_SOD.bin', 'csca.pem', 'ds.pem']);
    const result = await verifyDir(dir);
    expect(result.verdict).toBe('accepted');
    expect(result.document).toMatchObject({
      issuingState: 'DEU',
      nationality: 'DEU',
      lastName: 'MUSTERMANN',
      firstName: 'ERIKA',
      dateOfBirth: '1964-08-12',
      dateOfExpiry: '2031-10-31',
      documentNumber: 'C01X00T47',
    });
  });

  it('writes EF_DG14 and chip-key.pem for ECDSA AA; verify with --challenge / --aa-signature', async () => {
    const dir = await tempDir();
    await generate(dir, '--aa-key', 'ecdsa');
    const files = await readdir(dir);
    expect(files).toEqual(expect.arrayContaining(['EF_DG14.bin', 'EF_DG15.bin', 'chip-key.pem']));
    const challenge = '0102030405060708';
    const signature = signActiveAuthentication(await readFile(join(dir, 'chip-key.pem'), 'utf8'), Buffer.from(challenge, 'hex'));
    await writeFile(join(dir, 'aa.bin'), signature);
    const aa = ['--dg14', join(dir, 'EF_DG14.bin'), '--dg15', join(dir, 'EF_DG15.bin')];
    expect((await verifyDir(dir, ...aa, '--challenge', challenge, '--aa-signature', join(dir, 'aa.bin'))).verdict).toBe('accepted');
    const wrong = await verifyDir(dir, ...aa, '--challenge', '0807060504030201', '--aa-signature', join(dir, 'aa.bin'));
    expect(wrong.checks.activeAuthentication.status).toBe('FAILED');
    expect(wrong.verdict).toBe('inconclusive');
  });

  it('exits 0 with a rejected verdict for a variant; the revoked variant writes revoked.crl', async () => {
    const dir = await tempDir();
    await generate(dir, '--variant', 'revoked-ds', '--aa-key', 'none');
    expect(await readdir(dir)).toContain('revoked.crl');
    const withoutCrl = await verifyDir(dir);
    expect(withoutCrl.verdict).toBe('accepted');
    const { out, error } = await run('icao', 'verify', '--sod', join(dir, 'EF_SOD.bin'), '--dg1', join(dir, 'EF_DG1.bin'), '--trust-store', dir, '--json');
    expect(error).toBeUndefined();
    const result = JSON.parse(out) as VerificationResult;
    expect(result.verdict).toBe('rejected');
    expect(result.checks.certificateChain.reason).toMatch(/revoked/);
  });

  it('honours --at', async () => {
    const dir = await tempDir();
    await generate(dir, '--aa-key', 'none');
    const result = await verifyDir(dir, '--at', '2099-01-01');
    expect(result.validationTime).toBe('2099-01-01T00:00:00.000Z');
    expect(result.checks.certificateChain.status).toBe('FAILED');
  });

  it('garbage files are a verdict (exit 0); unreadable files are an error', async () => {
    const dir = await tempDir();
    await generate(dir, '--aa-key', 'none');
    await writeFile(join(dir, 'junk.bin'), Buffer.from('junk'));
    const { out, error } = await run(
      'icao',
      'verify',
      '--sod',
      join(dir, 'junk.bin'),
      '--dg1',
      join(dir, 'EF_DG1.bin'),
      '--trust-store',
      join(dir, 'csca.pem'),
      '--json',
    );
    expect(error).toBeUndefined();
    expect(JSON.parse(out)).toMatchObject({ verdict: 'rejected', formatError: { file: 'EF.SOD' } });
    const missing = await run('icao', 'verify', '--sod', join(dir, 'nope.bin'), '--dg1', join(dir, 'EF_DG1.bin'), '--json');
    expect(missing.error?.exitCode).toBe(2);
    expect(missing.err).toMatch(/cannot read sod/);
    const badStore = await run('icao', 'verify', '--sod', join(dir, 'EF_SOD.bin'), '--dg1', join(dir, 'EF_DG1.bin'), '--trust-store', join(dir, 'no-store'));
    expect(badStore.error?.exitCode).toBe(2);
  });

  it('prints a readable summary without --json', async () => {
    const dir = await tempDir();
    await generate(dir, '--aa-key', 'none', '--variant', 'tampered-dg1');
    const { out } = await run('icao', 'verify', '--sod', join(dir, 'EF_SOD.bin'), '--dg1', join(dir, 'EF_DG1.bin'), '--trust-store', join(dir, 'csca.pem'));
    expect(out).toMatch(/^verdict: rejected/);
    expect(out).toMatch(/dataGroupHashes: FAILED — DG1 hash does not match the SOD/);
  });

  it('rejects unknown algorithms and malformed dates', async () => {
    const dir = await tempDir();
    expect((await run('passport', 'generate', '--out', dir, '--algorithm', 'dsa')).error?.code).toBe('commander.invalidArgument');
    expect((await run('passport', 'generate', '--out', dir, '--expiry', '31.12.2030')).error?.exitCode).toBe(2);
  });
});

describe('trust import', () => {
  it('validates and copies CSCA certificates and CRLs; rejects non-CA certificates and garbage', async () => {
    const source = await tempDir();
    const store = join(await tempDir(), 'trust-store');
    await generate(source, '--variant', 'revoked-ds', '--aa-key', 'none');
    const ok = await run('trust', 'import', join(source, 'csca.pem'), join(source, 'revoked.crl'), '--store', store);
    expect(ok.error).toBeUndefined();
    expect(ok.out).toMatch(/imported certificate "C=UT, O=UTO Synthetic Passport Authority, CN=CSCA UTO ecdsa-p256"/);
    expect(ok.out).toMatch(/imported CRL of .* \(1 revoked\)/);
    expect((await readdir(store)).sort()).toEqual(['csca.pem', 'revoked.crl']);

    await writeFile(join(source, 'junk.der'), Buffer.from('0301', 'hex'));
    const bad = await run('trust', 'import', join(source, 'ds.pem'), join(source, 'junk.der'), '--store', store);
    expect(bad.out).toMatch(/rejected .*ds.pem: certificate .* is not a CA certificate/);
    expect(bad.out).toMatch(/rejected .*junk.der/);
    expect(bad.error?.exitCode).toBe(1);
    expect((await readdir(store)).sort()).toEqual(['csca.pem', 'revoked.crl']);

    // The imported folder then works as a trust store.
    const result = JSON.parse(
      (await run('icao', 'verify', '--sod', join(source, 'EF_SOD.bin'), '--dg1', join(source, 'EF_DG1.bin'), '--trust-store', store, '--json')).out,
    ) as VerificationResult;
    expect(result.checks.certificateChain.reason).toMatch(/revoked/);
  });

  it('--json reports imported items and rejections in one document, exit code 1 when anything was rejected', async () => {
    const source = await tempDir();
    const store = join(await tempDir(), 'trust-store');
    await generate(source, '--aa-key', 'none');
    try {
      const { out, error } = await run('trust', 'import', join(source, 'csca.pem'), join(source, 'ds.pem'), '--store', store, '--json');
      expect(error).toBeUndefined();
      const report = JSON.parse(out) as {
        store: string;
        imported: { file: string; target: string; items: { kind: string; isCA?: boolean }[] }[];
        rejected: { file: string; reason: string }[];
      };
      expect(report.store).toBe(store);
      expect(report.imported).toEqual([
        { file: join(source, 'csca.pem'), target: join(store, 'csca.pem'), items: [expect.objectContaining({ kind: 'certificate', isCA: true })] },
      ]);
      expect(report.rejected).toEqual([{ file: join(source, 'ds.pem'), reason: expect.stringMatching(/not a CA certificate/) }]);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = undefined;
    }
  });
});
