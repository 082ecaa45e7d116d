import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signActiveAuthentication } from '../../src/icao/active-auth.js';
import { PASSPORT_ALGORITHMS, type PassportVariant, generateCsca } from '../../src/testing/passports/generator.js';
import { TrustStore } from '../../src/icao/trust-store.js';
import { verifyDocument } from '../../src/icao/verify.js';
import { cscaFor, passport, storeFor, verify } from './helpers.js';

function answer(chipKey: string | undefined, challenge = randomBytes(8)) {
  if (!chipKey) throw new Error('passport has no AA key');
  return { challenge, signature: signActiveAuthentication(chipKey, challenge) };
}

describe('generated passports verify against their CSCA', () => {
  it.each(
    PASSPORT_ALGORITHMS.flatMap(
      (algorithm) =>
        [
          [algorithm, 'rsa'],
          [algorithm, 'ecdsa'],
        ] as const,
    ),
  )('%s with %s AA → accepted', (algorithm, aaKey) => {
    const p = passport({ algorithm, aaKey });
    const r = verify(p, { activeAuthentication: answer(p.chipPrivateKeyPem) });
    expect(r.checks.sodSignature.status, r.checks.sodSignature.reason).toBe('SUCCEEDED');
    expect(r.checks.dataGroupHashes.status, r.checks.dataGroupHashes.reason).toBe('SUCCEEDED');
    expect(r.checks.certificateChain.status, r.checks.certificateChain.reason).toBe('SUCCEEDED');
    expect(r.checks.activeAuthentication.status, r.checks.activeAuthentication.reason).toBe('SUCCEEDED');
    expect(r.verdict).toBe('accepted');
    expect(r.reasons).toEqual([]);
    expect(r.documentExpired).toBe(false);
    expect(r.document).toMatchObject({
      documentCode: 'P',
      issuingState: 'UTO',
      documentNumber: 'L898902C3',
      lastName: 'ERIKSSON',
      firstName: 'ANNA MARIA',
      dateOfBirth: '1974-08-12',
      gender: 'F',
      mrzValid: true,
    });
    expect(r.csca?.subject).toContain(`CSCA UTO ${algorithm}`);
    expect(r.dataGroups).toMatchObject({ DG1: 'MATCH', DG2: 'MATCH', DG15: 'MATCH' });
  });

  it('reports algorithms, DS and CSCA for audit', () => {
    const r = verify(passport({ algorithm: 'rsa-pss' }));
    expect(r.algorithms).toMatchObject({
      dataGroupHash: 'sha256',
      signerDigest: 'sha256',
      sodSignature: 'rsassa-pss(sha256, mgf1-sha256, salt 32)',
      dsPublicKey: 'RSA-2048',
    });
    expect(r.dsCertificate?.subject).toMatch(/DS UTO rsa-pss/);
    expect(r.dsCertificate?.serialNumber).toMatch(/^[0-9a-f]{16}$/);
    expect(r.signingTime).toBe(r.validationTime);
  });

  it('brainpool certificates carry explicit domain parameters and still verify', () => {
    const r = verify(passport({ algorithm: 'brainpool-p256', aaKey: 'none' }));
    expect(r.algorithms.dsPublicKey).toBe('EC brainpoolP256r1');
    expect(cscaFor('brainpool-p256').certificateDer.includes(Buffer.from('06072a8648ce3d0101', 'hex'))).toBe(true); // prime-field OID
    expect(r.verdict).toBe('accepted');
  });

  it('flags SHA-1 documents but accepts them', () => {
    const r = verify(passport({ algorithm: 'rsa-sha1', aaKey: 'none' }));
    expect(r.verdict).toBe('accepted');
    expect(r.warnings.join()).toMatch(/SHA-1/);
  });
});

describe('each variant fails exactly the check it should', () => {
  const cases: [PassportVariant, 'sodSignature' | 'dataGroupHashes' | 'certificateChain', RegExp][] = [
    ['tampered-dg1', 'dataGroupHashes', /DG1 hash does not match/],
    ['tampered-dg2', 'dataGroupHashes', /DG2 hash does not match/],
    ['missing-dg-in-sod', 'dataGroupHashes', /DG2 was uploaded but the SOD does not list it/],
    ['untrusted-csca', 'certificateChain', /does not verify with any of 1 trusted CSCA/],
    ['revoked-ds', 'certificateChain', /revoked/],
    ['expired-ds', 'certificateChain', /DS certificate is not valid on/],
    ['bad-message-digest', 'sodSignature', /messageDigest does not match/],
    ['signed-as-[0]', 'sodSignature', /\[0\] tag instead of the SET/],
  ];
  it.each(cases)('%s → %s FAILED', (variant, failing, reason) => {
    const p = passport({ variant, aaKey: 'none' });
    const r = verify(p);
    expect(r.verdict).toBe('rejected');
    expect(r.checks[failing].status).toBe('FAILED');
    expect(r.checks[failing].reason).toMatch(reason);
    for (const other of ['sodSignature', 'dataGroupHashes', 'certificateChain'] as const) {
      if (other !== failing) expect(r.checks[other].status, `${other}: ${r.checks[other].reason}`).toBe('SUCCEEDED');
    }
    expect(r.reasons.join('\n')).toMatch(reason);
  });

  it('the revoked DS passes when the store has no CRL (revocation is only as good as the CRLs loaded)', () => {
    const p = passport({ variant: 'revoked-ds', aaKey: 'none' });
    const store = new TrustStore();
    store.addPem(p.cscaPem);
    const r = verify(p, { trustStore: store });
    expect(r.verdict).toBe('accepted');
    expect(r.warnings.join()).toMatch(/no CRL/);
  });

  it('a CRL signed by another key is ignored, not trusted', () => {
    const p = passport({ variant: 'revoked-ds', aaKey: 'none' });
    const store = new TrustStore();
    store.addPem(p.cscaPem);
    const impostor = generateCsca({ algorithm: 'ecdsa-p256', subjectFrom: p.csca });
    const forged = passport({ variant: 'revoked-ds', aaKey: 'none', csca: impostor }).crlDer as Buffer;
    store.addCrl(forged);
    expect(verify(p, { trustStore: store }).checks.certificateChain.status).toBe('SUCCEEDED');
  });

  it('expired document: verified chip, flagged with a reason', () => {
    const p = passport({ variant: 'expired-document', aaKey: 'none' });
    const r = verify(p);
    expect(r.verdict).toBe('accepted');
    expect(r.documentExpired).toBe(true);
    expect(r.reasons.join()).toMatch(/document expired on \d{4}-\d{2}-\d{2}/);
  });

  it('an empty trust store rejects with certificateChain FAILED', () => {
    const r = verify(passport(), { trustStore: new TrustStore() });
    expect(r.checks.certificateChain).toMatchObject({ status: 'FAILED' });
    expect(r.checks.certificateChain.reason).toMatch(/no trusted CSCA matches issuer/);
    expect(r.checks.sodSignature.status).toBe('SUCCEEDED');
  });

  it('validates certificates at --at instead of the signing time', () => {
    const p = passport({ aaKey: 'none' });
    expect(verify(p, { at: new Date(Date.now() + 11 * 365 * 86400_000) }).checks.certificateChain.reason).toMatch(/DS certificate is not valid/);
    expect(verify(p, { at: new Date(Date.now() - 2 * 365 * 86400_000) }).checks.certificateChain.status).toBe('FAILED');
    expect(verify(p, { at: new Date(Date.now() + 86400_000) }).verdict).toBe('accepted');
  });
});

describe('clone detection (Active Authentication)', () => {
  it('no DG15 → NOT_PRESENT and accepted', () => {
    const r = verify(passport({ aaKey: 'none' }));
    expect(r.checks.activeAuthentication.status).toBe('NOT_PRESENT');
    expect(r.verdict).toBe('accepted');
  });

  it('DG15 present but no challenge answered → NOT_CHECKED and inconclusive', () => {
    const r = verify(passport({ aaKey: 'rsa' }));
    expect(r.checks.activeAuthentication.status).toBe('NOT_CHECKED');
    expect(r.verdict).toBe('inconclusive');
    expect(r.reasons.join()).toMatch(/no challenge response/);
  });

  it('a chip dump without DG15 is not taken for a document without Active Authentication', () => {
    const r = verify(passport({ aaKey: 'ecdsa' }), { dg15: undefined });
    expect(r.checks.activeAuthentication.status).toBe('NOT_CHECKED');
    expect(r.checks.activeAuthentication.reason).toMatch(/SOD lists DG15/);
    expect(r.verdict).toBe('inconclusive');
  });

  it.each(['rsa', 'ecdsa'] as const)('%s: answer to another challenge → FAILED and inconclusive', (aaKey) => {
    const p = passport({ aaKey });
    const response = answer(p.chipPrivateKeyPem);
    const r = verify(p, { activeAuthentication: { challenge: randomBytes(8), signature: response.signature } });
    expect(r.checks.activeAuthentication.status).toBe('FAILED');
    expect(r.verdict).toBe('inconclusive');
  });

  it.each(['rsa', 'ecdsa'] as const)('%s: replaying an old signature for a new challenge fails', (aaKey) => {
    const p = passport({ aaKey });
    const old = answer(p.chipPrivateKeyPem);
    expect(verify(p, { activeAuthentication: old }).checks.activeAuthentication.status).toBe('SUCCEEDED');
    const fresh = randomBytes(8);
    const replay = verify(p, { activeAuthentication: { challenge: fresh, signature: old.signature } });
    expect(replay.checks.activeAuthentication.status).toBe('FAILED');
    expect(replay.verdict).toBe('inconclusive');
  });

  it('a chip with a different key (clone) fails', () => {
    const p = passport({ aaKey: 'ecdsa' });
    const clone = passport({ aaKey: 'ecdsa' });
    const r = verify(p, { activeAuthentication: answer(clone.chipPrivateKeyPem) });
    expect(r.checks.activeAuthentication.status).toBe('FAILED');
  });

  it('a DG15 the SOD does not vouch for is refused, and the document rejected', () => {
    const p = passport({ aaKey: 'rsa' });
    const other = passport({ aaKey: 'rsa' });
    const r = verify(p, { dg15: other.files['EF_DG15.bin'], activeAuthentication: answer(other.chipPrivateKeyPem) });
    expect(r.checks.activeAuthentication).toMatchObject({ status: 'FAILED' });
    expect(r.checks.activeAuthentication.reason).toMatch(/not covered by a matching hash/);
    expect(r.checks.dataGroupHashes.status).toBe('FAILED');
    expect(r.verdict).toBe('rejected');
  });

  it('ECDSA chips announce Chip Authentication in DG14, which needs a relay → NOT_CHECKED', () => {
    const p = passport({ aaKey: 'ecdsa' });
    const r = verify(p, { activeAuthentication: answer(p.chipPrivateKeyPem) });
    expect(r.checks.chipAuthentication.status).toBe('NOT_CHECKED');
    expect(r.algorithms.activeAuthentication).toBe('ecdsa-plain-sha256');
    expect(r.verdict).toBe('accepted');
  });
});

describe('malformed uploads', () => {
  it('garbage SOD → rejected with a typed format error', () => {
    const p = passport({ aaKey: 'none' });
    const r = verify(p, { sod: Buffer.from('not a sod') });
    expect(r.verdict).toBe('rejected');
    // 'n' reads as tag 0x6E and 'o' as a 111-byte length the input does not have.
    expect(r.formatError).toMatchObject({ file: 'EF.SOD', code: 'TRUNCATED' });
    expect(verify(p, { sod: p.files['EF_DG1.bin'] }).formatError).toMatchObject({ file: 'EF.SOD', code: 'UNEXPECTED_TAG' });
    expect(r.document?.lastName).toBe('ERIKSSON');
  });

  it('oversized SOD and DG1 → TOO_LARGE', () => {
    const p = passport({ aaKey: 'none' });
    expect(verify(p, { sod: Buffer.alloc(65 * 1024, 0x77) }).formatError?.code).toBe('TOO_LARGE');
    expect(verify(p, { dg1: Buffer.alloc(2048, 0x61) }).formatError).toMatchObject({ file: 'DG1', code: 'TOO_LARGE' });
  });

  it('a nested-bomb SOD → typed rejection, not a stack overflow', () => {
    const bomb = Buffer.concat([Buffer.from([0x77, 0x82, 0xea, 0x60]), Buffer.alloc(60000, 0).fill(Buffer.from([0x30, 0x80]))]);
    const r = verifyDocument({ sod: bomb, dg1: passport({ aaKey: 'none' }).files['EF_DG1.bin'], trustStore: new TrustStore() });
    expect(r.verdict).toBe('rejected');
    expect(['TOO_DEEP', 'BAD_ASN1']).toContain(r.formatError?.code);
  });

  it('a DG1 that is not an MRZ → rejected, document null', () => {
    const p = passport({ aaKey: 'none' });
    const r = verify(p, { dg1: Buffer.from('61075f1f0441424344', 'hex') });
    expect(r.verdict).toBe('rejected');
    expect(r.document).toBeNull();
    expect(r.formatError?.code).toBe('BAD_MRZ');
  });

  it('storeFor keeps CRLs of other passports apart', () => {
    expect(storeFor(passport({ aaKey: 'none' })).revocationLists).toHaveLength(0);
  });
});
