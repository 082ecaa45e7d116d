import { constants, generateKeyPairSync, privateDecrypt, randomBytes, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { describe, expect, it } from 'vitest';
import { signActiveAuthentication, verifyActiveAuthentication } from '../../src/icao/active-auth.js';
import {
  HASH_LENGTH,
  createSignature,
  digest,
  mgf1,
  rsaPublicOperation,
  signatureAlgorithmIdentifier,
  signatureScheme,
  verifySignature,
} from '../../src/icao/algorithms.js';
import { parseCertificate, verifyIssuedBy } from '../../src/icao/certificates.js';
import { IcaoFormatError } from '../../src/icao/errors.js';
import { cscaFor } from './helpers.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const aaRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const data = Buffer.from('signed attributes');

function roundTrip(alg: pkijs.AlgorithmIdentifier): pkijs.AlgorithmIdentifier {
  return new pkijs.AlgorithmIdentifier({ schema: asn1js.fromBER(alg.toSchema().toBER(false)).result });
}

describe('signature algorithm identifiers', () => {
  it('reads RSASSA-PSS parameters and applies RFC 4055 defaults when they are absent', () => {
    const explicit = roundTrip(signatureAlgorithmIdentifier({ kind: 'rsa-pss', hash: 'sha384', mgf1Hash: 'sha384', saltLength: 48 }));
    expect(signatureScheme(explicit)).toEqual({ kind: 'rsa-pss', hash: 'sha384', mgf1Hash: 'sha384', saltLength: 48 });
    const bare = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.10' });
    expect(signatureScheme(bare)).toEqual({ kind: 'rsa-pss', hash: 'sha1', mgf1Hash: 'sha1', saltLength: 20 });
    const emptyParams = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.10', algorithmParams: new asn1js.Sequence() });
    expect(signatureScheme(roundTrip(emptyParams))).toEqual({ kind: 'rsa-pss', hash: 'sha1', mgf1Hash: 'sha1', saltLength: 20 });
  });

  it('accepts identifiers with and without NULL parameters', () => {
    const withNull = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.11', algorithmParams: new asn1js.Null() });
    const without = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.11' });
    expect(signatureScheme(roundTrip(withNull))).toEqual(signatureScheme(without));
    const ecdsaWithNull = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.3', algorithmParams: new asn1js.Null() });
    expect(signatureScheme(roundTrip(ecdsaWithNull))).toEqual({ kind: 'ecdsa', hash: 'sha384', encoding: 'der' });
  });

  it('uses the digest hint for bare key-type OIDs and refuses unknown OIDs', () => {
    expect(signatureScheme(new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.1' }), 'sha512')).toEqual({ kind: 'rsa-pkcs1', hash: 'sha512' });
    expect(() => signatureScheme(new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.3.4' }))).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_ALGORITHM' }),
    );
    expect(() => signatureScheme(new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.1' }))).toThrow(IcaoFormatError);
  });
});

describe('verification with node:crypto', () => {
  it.each(['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const)('RSA PKCS#1 v1.5, PSS and ECDSA with %s', (hash) => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    for (const [scheme, pair] of [
      [{ kind: 'rsa-pkcs1', hash }, rsa],
      [{ kind: 'rsa-pss', hash, mgf1Hash: hash, saltLength: HASH_LENGTH[hash] }, rsa],
      [{ kind: 'ecdsa', hash, encoding: 'der' }, ec],
    ] as const) {
      const signature = createSignature(scheme, pair.privateKey, data);
      expect(verifySignature(scheme, pair.publicKey, data, signature)).toBe(true);
      expect(verifySignature(scheme, pair.publicKey, Buffer.from('other'), signature)).toBe(false);
    }
  });

  it('verifies PSS whose MGF1 hash differs from the message hash (by hand, OpenSSL cannot)', () => {
    // EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with SHA-256 for the message and SHA-1 for MGF1, salt 20.
    const emLen = 256;
    const salt = randomBytes(20);
    const h = digest('sha256', Buffer.concat([Buffer.alloc(8), digest('sha256', data), salt]));
    const db = Buffer.concat([Buffer.alloc(emLen - 20 - 32 - 2), Buffer.from([1]), salt]);
    const mask = mgf1('sha1', h, db.length);
    const maskedDb = Buffer.from(db.map((b, i) => b ^ (mask[i] as number)));
    maskedDb[0] = (maskedDb[0] as number) & 0x7f;
    const em = Buffer.concat([maskedDb, h, Buffer.from([0xbc])]);
    const signature = privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_NO_PADDING }, em);
    const scheme = { kind: 'rsa-pss', hash: 'sha256', mgf1Hash: 'sha1', saltLength: 20 } as const;
    expect(rsaPublicOperation(rsa.publicKey, signature).equals(em)).toBe(true);
    expect(verifySignature(scheme, rsa.publicKey, data, signature)).toBe(true);
    expect(verifySignature({ ...scheme, saltLength: 32 }, rsa.publicKey, data, signature)).toBe(false);
    expect(verifySignature({ ...scheme, mgf1Hash: 'sha256' }, rsa.publicKey, data, signature)).toBe(false);
  });

  it('accepts plain r‖s where a CMS signer wrongly put it instead of DER', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    // A plain signature starting with 0x30 would be tried as DER only; take one that cannot be mistaken.
    let plain: Buffer;
    do plain = sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    while (plain[0] === 0x30);
    expect(verifySignature({ kind: 'ecdsa', hash: 'sha256', encoding: 'der' }, ec.publicKey, data, plain)).toBe(true);
  });

  it('never throws on wrong key types or garbage signatures', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(verifySignature({ kind: 'rsa-pkcs1', hash: 'sha256' }, ec.publicKey, data, randomBytes(256))).toBe(false);
    expect(verifySignature({ kind: 'ecdsa', hash: 'sha256' }, rsa.publicKey, data, randomBytes(64))).toBe(false);
    expect(verifySignature({ kind: 'rsa-pss', hash: 'sha256', mgf1Hash: 'sha1', saltLength: 20 }, rsa.publicKey, data, randomBytes(300))).toBe(false);
    expect(verifySignature({ kind: 'rsa-pkcs1', hash: 'sha256' }, rsa.publicKey, data, Buffer.alloc(0))).toBe(false);
  });

  it('loads explicit-parameter brainpool keys from certificates', () => {
    const cert = parseCertificate(cscaFor('brainpool-p256').certificateDer);
    const spki = Buffer.from(cert.cert.subjectPublicKeyInfo.toSchema().toBER(false));
    expect(spki.includes(Buffer.from('06072a8648ce3d0101', 'hex'))).toBe(true); // prime-field: parameters are explicit
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('brainpoolP256r1');
    expect(verifyIssuedBy(cert, cert).ok).toBe(true);
  });
});

describe('Active Authentication', () => {
  it('RSA ISO 9796-2: SHA-1 (trailer BC) and SHA-256 (trailer 34CC)', () => {
    for (const hash of ['sha1', 'sha256'] as const) {
      const challenge = randomBytes(8);
      const signature = signActiveAuthentication(aaRsa.privateKey, challenge, hash);
      const result = verifyActiveAuthentication({ publicKey: aaRsa.publicKey, challenge, signature });
      expect(result).toMatchObject({ ok: true, algorithm: `iso9796-2-${hash}` });
    }
  });

  it('RSA ISO 9796-2: both branches of the n − F rule verify', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const challenge = randomBytes(8);
      const signature = signActiveAuthentication(aaRsa.privateKey, challenge);
      const f = rsaPublicOperation(aaRsa.publicKey, signature);
      seen.add(((f[f.length - 1] as number) & 0x0f) === 0x0c ? 'F' : 'n-F');
      expect(verifyActiveAuthentication({ publicKey: aaRsa.publicKey, challenge, signature }).ok).toBe(true);
    }
    expect(seen).toEqual(new Set(['F', 'n-F']));
  });

  it('RSA ISO 9796-2: wrong challenge, tampered or mis-sized signatures fail', () => {
    const challenge = randomBytes(8);
    const signature = signActiveAuthentication(aaRsa.privateKey, challenge);
    expect(verifyActiveAuthentication({ publicKey: aaRsa.publicKey, challenge: randomBytes(8), signature }).ok).toBe(false);
    const tampered = Buffer.from(signature);
    tampered[5] = (tampered[5] as number) ^ 1;
    expect(verifyActiveAuthentication({ publicKey: aaRsa.publicKey, challenge, signature: tampered }).ok).toBe(false);
    expect(verifyActiveAuthentication({ publicKey: aaRsa.publicKey, challenge, signature: signature.subarray(1) }).reason).toMatch(/bytes/);
    expect(verifyActiveAuthentication({ publicKey: aaRsa.publicKey, challenge, signature: Buffer.alloc(128, 0xff) }).ok).toBe(false);
    // A plain PKCS#1 signature is not an ISO 9796-2 one.
    const pkcs1 = sign('sha1', challenge, aaRsa.privateKey);
    expect(verifyActiveAuthentication({ publicKey: aaRsa.publicKey, challenge, signature: pkcs1 }).ok).toBe(false);
  });

  it('ECDSA: hash from DG14, default by key size, plain r‖s only', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const challenge = randomBytes(8);
    const byDefault = signActiveAuthentication(p384.privateKey, challenge);
    expect(byDefault).toHaveLength(96);
    expect(verifyActiveAuthentication({ publicKey: p384.publicKey, challenge, signature: byDefault })).toMatchObject({
      ok: true,
      algorithm: 'ecdsa-plain-sha384',
    });
    const sha256 = signActiveAuthentication(p384.privateKey, challenge, 'sha256');
    expect(verifyActiveAuthentication({ publicKey: p384.publicKey, challenge, signature: sha256, ecdsaHash: 'sha256' }).ok).toBe(true);
    expect(verifyActiveAuthentication({ publicKey: p384.publicKey, challenge, signature: sha256 }).ok).toBe(false);
  });

  it('refuses empty challenges', () => {
    expect(verifyActiveAuthentication({ publicKey: aaRsa.publicKey, challenge: Buffer.alloc(0), signature: Buffer.alloc(128) }).ok).toBe(false);
  });
});
