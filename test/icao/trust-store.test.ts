import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pemBlocks, toPem } from '../../src/icao/certificates.js';
import { generateCrl, generateCsca, generateMasterList } from '../../src/testing/passports/generator.js';
import { TrustStore, loadTrustStore } from '../../src/icao/trust-store.js';
import { cscaFor, passport, verify } from './helpers.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'icao-trust-'));
}

describe('TrustStore', () => {
  it('loads PEM and DER certificates, ignoring duplicates', () => {
    const csca = cscaFor('ecdsa-p256');
    const store = new TrustStore();
    expect(store.addBytes(Buffer.from(csca.certificatePem))).toMatchObject([{ kind: 'certificate', isCA: true }]);
    expect(store.addBytes(csca.certificateDer)).toMatchObject([{ kind: 'certificate' }]);
    expect(store.certificates).toHaveLength(1);
  });

  it('finds issuers by AKI→SKI and falls back to the issuer DN', () => {
    const p = passport({ aaKey: 'none' });
    const store = new TrustStore();
    store.addPem(p.cscaPem);
    const impostor = generateCsca({ algorithm: 'ecdsa-p256', subjectFrom: p.csca });
    store.addCertificate(impostor.certificateDer);
    const [ds] = pemBlocks(p.dsCertificatePem, 'CERTIFICATE');
    const dsInfo = store.addCertificate(ds as Buffer); // any certificate can be looked up
    const candidates = store.findIssuerCandidates(dsInfo);
    expect(candidates).toHaveLength(2);
    expect(candidates[0]?.der.equals(p.csca.certificateDer)).toBe(true); // the key-identifier match comes first
    expect(verify(p, { trustStore: store }).verdict).toBe('accepted');
  });

  it('loads a master list, checks its signature and trusts its certificates', () => {
    const listed = [cscaFor('ecdsa-p256'), cscaFor('brainpool-p256'), cscaFor('rsa-pss')];
    const signer = cscaFor('ecdsa-p384');
    const ml = generateMasterList(
      [...listed, signer].map((c) => c.certificateDer),
      signer,
    );
    const store = new TrustStore();
    const info = store.addMasterList(ml, 'test.ml');
    expect(info).toMatchObject({ certificateCount: 4, signatureValid: true, signerTrusted: true });
    expect(store.certificates).toHaveLength(4);
    for (const algorithm of ['ecdsa-p256', 'brainpool-p256', 'rsa-pss'] as const) {
      expect(verify(passport({ algorithm, aaKey: 'none' }), { trustStore: store }).verdict).toBe('accepted');
    }
  });

  it('reports a master list whose signer is not in the list, or whose content was altered', () => {
    const ml = generateMasterList([cscaFor('ecdsa-p256').certificateDer], cscaFor('ecdsa-p384'));
    expect(new TrustStore().addMasterList(ml)).toMatchObject({ signatureValid: true, signerTrusted: false });
    // Flip a byte inside the listed certificate's signature value (near the end of eContent).
    const i = ml.indexOf(cscaFor('ecdsa-p256').certificateDer.subarray(-8));
    const altered = Buffer.from(ml);
    altered[i + 4] = (altered[i + 4] as number) ^ 1;
    const info = new TrustStore().addMasterList(altered);
    expect(info.signatureValid).toBe(false);
    expect(info.reason).toMatch(/messageDigest/);
  });

  it('loads CRLs and revokes only what the issuing CSCA signed', () => {
    const p = passport({ variant: 'revoked-ds', aaKey: 'none' });
    const store = new TrustStore();
    store.addPem(p.cscaPem);
    expect(store.addBytes(p.crlDer as Buffer)).toMatchObject([{ kind: 'crl', revokedCount: 1 }]);
    const r = verify(p, { trustStore: store });
    expect(r.checks.certificateChain.status).toBe('FAILED');
    expect(r.checks.certificateChain.reason).toMatch(/revoked/);
    const other = passport({ aaKey: 'none' });
    expect(verify(other, { trustStore: store }).checks.certificateChain.reason).toMatch(/not listed in 1 CRL/);
  });

  it('reads PEM CRLs too', () => {
    const csca = cscaFor('rsa-pkcs1');
    const store = new TrustStore();
    const items = store.addPem(toPem(generateCrl(csca, [Buffer.from([0x12, 0x34])]), 'X509 CRL'));
    expect(items).toMatchObject([{ kind: 'crl', revokedCount: 1 }]);
  });

  it('rejects garbage with typed errors', () => {
    const store = new TrustStore();
    expect(() => store.addBytes(Buffer.from('hello world'))).toThrow(expect.objectContaining({ name: 'IcaoFormatError' }));
    expect(() => store.addPem('-----BEGIN FOO-----\n-----END FOO-----')).toThrow(/no CERTIFICATE/);
    expect(() => store.addMasterList(cscaFor('ecdsa-p256').certificateDer)).toThrow(expect.objectContaining({ code: 'BAD_STRUCTURE' }));
  });
});

describe('loadTrustStore', () => {
  it('loads a folder recursively, by extension, and records bad files as problems', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
    const p = passport({ variant: 'revoked-ds', aaKey: 'none' });
    const other = cscaFor('brainpool-p256');
    await writeFile(join(dir, 'csca.pem'), p.cscaPem);
    await writeFile(join(dir, 'nested', 'other.der'), other.certificateDer);
    await writeFile(join(dir, 'nested', 'deeper', 'revoked.crl'), p.crlDer as Buffer);
    await writeFile(join(dir, 'nested', 'list.ml'), generateMasterList([cscaFor('ecdsa-p384').certificateDer], cscaFor('ecdsa-p384')));
    await writeFile(join(dir, 'broken.cer'), Buffer.from([0x30, 0x03, 0x02, 0x01]));
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    const store = await loadTrustStore(dir);
    expect(store.certificates).toHaveLength(3);
    expect(store.revocationLists).toHaveLength(1);
    expect(store.masterLists).toHaveLength(1);
    expect(store.problems).toEqual([expect.objectContaining({ source: join(dir, 'broken.cer'), code: 'TRUNCATED' })]);
    expect(verify(p, { trustStore: store }).checks.certificateChain.reason).toMatch(/revoked/);
  });

  it('loads a single file and throws for a missing path', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'csca.crt'), cscaFor('ecdsa-p256').certificatePem);
    expect((await loadTrustStore(join(dir, 'csca.crt'))).certificates).toHaveLength(1);
    await expect(loadTrustStore(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });

  it('checks validity at the signing time, or at the given date', () => {
    const now = new Date();
    const csca = generateCsca({ algorithm: 'ecdsa-p256', now: new Date(now.getTime() - 20 * 365 * 86400_000) }); // expired ~4 years ago
    const old = passport({ csca, aaKey: 'none', now: new Date(now.getTime() - 10 * 365 * 86400_000) });
    const r = verify(old);
    expect(r.validationTime).toBe(r.signingTime);
    expect(r.checks.certificateChain.status, r.checks.certificateChain.reason).toBe('SUCCEEDED');
    const today = verify(old, { at: now });
    expect(today.checks.certificateChain.reason).toMatch(/CSCA .* is not valid|DS certificate is not valid/);
  });
});
