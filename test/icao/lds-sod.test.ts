import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseCertificate } from '../../src/icao/certificates.js';
import { describe, expect, it } from 'vitest';
import { IcaoFormatError } from '../../src/icao/errors.js';
import { parseDg2Face, parseDg2Faces } from '../../src/icao/dg2.js';
import { faceDg2Of } from '../../src/testing/passports/face-dg2.js';
import { buildDg14, parseCom, parseDg1, parseDg14, parseDg15 } from '../../src/icao/lds.js';
import { SAMPLE_FACE_JPEG } from '../../src/testing/passports/sample-face.js';
import { parseSod, wrapSod } from '../../src/icao/sod.js';
import { encodeTlv, readFileTlv } from '../../src/icao/tlv.js';
import { TAGS } from '../../src/icao/lds.js';
import { TrustStore } from '../../src/icao/trust-store.js';
import { cscaFor, passport, verify } from './helpers.js';

describe('LDS data groups', () => {
  it('DG1 holds the concatenated MRZ under 5F1F (61 5B 5F1F 58 for TD3)', () => {
    const p = passport({ aaKey: 'none' });
    const dg1 = p.files['EF_DG1.bin'];
    expect(dg1.subarray(0, 5).toString('hex')).toBe('615b5f1f58');
    const parsed = parseDg1(dg1);
    expect(parsed.mrz).toBe(p.mrz.join(''));
    expect(parsed.parsed.ok && parsed.parsed.valid).toBe(true);
  });

  it('DG2: the JPEG is read from the ISO/IEC 19794-5 record inside the biometric template', () => {
    const faces = parseDg2Faces(passport({ aaKey: 'none' }).files['EF_DG2.bin']);
    expect(faces).toHaveLength(1);
    expect(faces[0]).toMatchObject({ standard: 'ISO/IEC 19794-5', format: 'jpeg' });
    expect(faces[0]?.image.equals(SAMPLE_FACE_JPEG)).toBe(true);
    expect(SAMPLE_FACE_JPEG.subarray(-2).toString('hex')).toBe('ffd9'); // a complete JPEG: SOI … EOI
  });

  it('DG2: reads JPEG 2000 and rejects templates without an image', () => {
    const jp2 = Buffer.concat([Buffer.from('0000000c6a5020200d0a870a', 'hex'), Buffer.alloc(20, 1)]);
    expect(parseDg2Face(faceDg2Of(jp2, 'jpeg2000')).format).toBe('jp2');
    expect(() => parseDg2Face(faceDg2Of(Buffer.from('no image here'), 'jpeg'))).toThrow(/declared JPEG but is not a known image format/);
    expect(() => parseDg2Face(encodeTlv(0x75, encodeTlv(0x02, Buffer.from([1]))))).toThrow(IcaoFormatError);
  });

  it('DG14: ActiveAuthenticationInfo and Chip Authentication infos', () => {
    const p = passport({ aaKey: 'ecdsa' });
    const dg14 = parseDg14(p.files['EF_DG14.bin'] as Buffer);
    expect(dg14.activeAuthentication).toEqual({ version: 1, signatureAlgorithm: '0.4.0.127.0.7.1.1.4.1.3', hash: 'sha256' });
    expect(dg14.chipAuthentication).toEqual([{ protocol: '0.4.0.127.0.7.2.2.3.2.2', version: 1, keyId: undefined }]);
    expect(dg14.chipAuthenticationPublicKeys).toHaveLength(1);
    expect(parseDg14(buildDg14({})).activeAuthentication).toBeUndefined();
  });

  it('DG15: RSA and EC keys become KeyObjects', () => {
    expect(parseDg15(passport({ aaKey: 'rsa' }).files['EF_DG15.bin'] as Buffer).publicKey.asymmetricKeyType).toBe('rsa');
    expect(parseDg15(passport({ aaKey: 'ecdsa' }).files['EF_DG15.bin'] as Buffer).publicKey.asymmetricKeyType).toBe('ec');
    expect(() => parseDg15(encodeTlv(0x6f, Buffer.from('300a300806032a0304010500', 'hex')))).toThrow(IcaoFormatError);
  });

  it('EF.COM lists the data groups', () => {
    const com = parseCom(passport({ aaKey: 'ecdsa' }).files['EF_COM.bin']);
    expect(com).toEqual({ ldsVersion: '0107', unicodeVersion: '040000', dataGroups: [1, 2, 14, 15] });
  });
});

describe('EF.SOD', () => {
  it('exposes version, hash algorithm, DG hashes, signer and DS certificate', () => {
    const p = passport({ algorithm: 'rsa-pss', aaKey: 'rsa' });
    const sod = parseSod(p.files['EF_SOD.bin']);
    expect(sod.lds).toMatchObject({ version: 0, hashAlgorithm: '2.16.840.1.101.3.4.2.1', hash: 'sha256' });
    expect([...sod.lds.dataGroupHashes.keys()]).toEqual([1, 2, 15]);
    expect(sod.lds.dataGroupHashes.get(1)).toEqual(createHash('sha256').update(p.files['EF_DG1.bin']).digest());
    expect(sod.signer.sid.kind).toBe('issuerAndSerialNumber');
    expect(sod.signer.version).toBe(1);
    expect(sod.signer.signedAttributes?.contentType).toBe('2.23.136.1.1.1');
    expect(sod.signer.signedAttributes?.signingTime).toBeInstanceOf(Date);
    expect(sod.signer.signedAttributes?.der[0]).toBe(0x31);
    expect(sod.dsCertificate?.keyUsage?.digitalSignature).toBe(true);
    expect(sod.signedData.certificates).toHaveLength(1);
  });

  it('finds the DS by subjectKeyIdentifier (SignerInfo v3)', () => {
    const sod = parseSod(passport({ algorithm: 'ecdsa-p256', aaKey: 'none' }).files['EF_SOD.bin']);
    expect(sod.signer.sid.kind).toBe('subjectKeyIdentifier');
    expect(sod.signer.version).toBe(3);
    expect(sod.dsCertificate).toBeDefined();
  });

  it('rejects a SOD that is another CMS type or carries trailing bytes', () => {
    const sod = passport({ aaKey: 'none' }).files['EF_SOD.bin'];
    expect(() => parseSod(Buffer.concat([sod, Buffer.from([0])]))).toThrow(expect.objectContaining({ code: 'TRAILING_BYTES' }));
    const retyped = Buffer.from(sod);
    const oid = Buffer.from('0606678108010101', 'hex'); // eContentType 2.23.136.1.1.1
    const at = retyped.indexOf(oid);
    retyped[at + oid.length - 1] = 2; // → 2.23.136.1.1.2 (master list)
    expect(() => parseSod(retyped)).toThrow(/encapsulated content type 2.23.136.1.1.2/);
  });

  it('reads an eContent split into BER chunks (constructed OCTET STRING), as pkijs writes it', () => {
    const p = passport({ aaKey: 'none' });
    const sod = p.files['EF_SOD.bin'];
    const contentInfo = new pkijs.ContentInfo({ schema: asn1js.fromBER(sod.subarray(4)).result }); // after 77 82 LL LL
    const signedData = new pkijs.SignedData({ schema: contentInfo.content });
    const eContent = parseSod(sod).signedData.eContent;
    signedData.encapContentInfo = new pkijs.EncapsulatedContentInfo({
      eContentType: signedData.encapContentInfo.eContentType,
      eContent: new asn1js.OctetString({ valueHex: eContent }), // the constructor splits it into chunks
    });
    const reencoded = new pkijs.ContentInfo({ contentType: contentInfo.contentType, content: signedData.toSchema(true) });
    const chunked = wrapSod(Buffer.from(reencoded.toSchema().toBER(false)));
    const eContentType = chunked.indexOf(Buffer.from('0606678108010101', 'hex'));
    expect(chunked.subarray(eContentType + 8, eContentType + 12).toString('hex')).toMatch(/^a0(81)?..24/); // [0] { constructed OCTET STRING }
    expect(parseSod(chunked).signedData.eContent).toEqual(eContent);
    expect(verify(p, { sod: chunked }).verdict).toBe('accepted');
  });

  it('rejects an impossible signingTime and a wrongly typed signed attribute with typed errors', () => {
    const sod = passport({ aaKey: 'none' }).files['EF_SOD.bin'];
    const signingTimeType = Buffer.from('06092a864886f70d010905', 'hex');
    const time = sod.indexOf(signingTimeType) + signingTimeType.length + 2; // after the values SET header
    expect(sod.subarray(time, time + 2)).toEqual(Buffer.from([0x17, 0x0d]));
    const badMonth = Buffer.from(sod);
    badMonth.write('13', time + 4, 'latin1'); // YYMMDD…: month 13
    expect(() => parseSod(badMonth)).toThrow(expect.objectContaining({ code: 'BAD_STRUCTURE', message: expect.stringMatching(/signingTime/) }));
    const asPrintable = Buffer.from(sod);
    asPrintable[time] = 0x13;
    expect(() => parseSod(asPrintable)).toThrow(/signingTime: expected UTCTime or GeneralizedTime/);
  });

  it('a DS certificate without keyUsage digitalSignature is refused by the chain check', () => {
    const csca = cscaFor('ecdsa-p256');
    const store = new TrustStore();
    store.addCertificate(csca.certificateDer);
    // The CSCA itself has keyCertSign and cRLSign only: it must not sign documents.
    const result = store.validateDocumentSigner(parseCertificate(csca.certificateDer), new Date());
    expect(result).toMatchObject({ ok: false, reason: 'DS certificate lacks keyUsage digitalSignature' });
  });
});

describe('EF.SOD certificate stuffing', () => {
  /** The passport's EF.SOD with its DS certificate repeated `count` times in SignedData.certificates. */
  const stuffedSod = (p: ReturnType<typeof passport>, count: number) => {
    const contentInfo = new pkijs.ContentInfo({ schema: asn1js.fromBER(readFileTlv(p.files['EF_SOD.bin'], TAGS.SOD, 'EF.SOD').value).result });
    const signedData = new pkijs.SignedData({ schema: contentInfo.content });
    const ds = signedData.certificates?.[0] as pkijs.Certificate;
    signedData.certificates = Array.from({ length: count }, () => ds);
    const stuffed = new pkijs.ContentInfo({ contentType: contentInfo.contentType, content: signedData.toSchema(true) });
    return encodeTlv(TAGS.SOD, Buffer.from(stuffed.toSchema().toBER(false)));
  };

  it('accepts up to 2 certificates and rejects more with a verdict, before parsing them', () => {
    const p = passport();
    const genuine = verify(p);
    expect(genuine.verdict).not.toBe('rejected');
    expect(verify(p, { sod: stuffedSod(p, 2) }).verdict).toBe(genuine.verdict);
    const result = verify(p, { sod: stuffedSod(p, 3) });
    expect(result.verdict).toBe('rejected');
    expect(result.formatError).toMatchObject({ code: 'BAD_STRUCTURE', file: 'EF.SOD' });
    expect(result.reasons.join(' ')).toContain('3 certificates; at most 2');
  });
});
