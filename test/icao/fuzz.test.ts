/**
 * Mutation fuzzing: 10,000+ damaged SODs and data groups through the verifier. Each run must end in a
 * verdict; whenever the damage is structural it must be a typed format error. Nothing may throw.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signActiveAuthentication } from '../../src/icao/active-auth.js';
import { IcaoFormatError, type IcaoErrorCode } from '../../src/icao/errors.js';
import { parseDg2Faces } from '../../src/icao/dg2.js';
import { parseCom, parseDg1, parseDg14, parseDg15 } from '../../src/icao/lds.js';
import { parseSod } from '../../src/icao/sod.js';
import { type VerifyDocumentInput, verifyDocument } from '../../src/icao/verify.js';
import { passport, storeFor } from './helpers.js';

const CODES: IcaoErrorCode[] = [
  'EMPTY_INPUT',
  'TOO_LARGE',
  'TRUNCATED',
  'BAD_TAG',
  'BAD_LENGTH',
  'TRAILING_BYTES',
  'TOO_DEEP',
  'UNEXPECTED_TAG',
  'BAD_ASN1',
  'BAD_STRUCTURE',
  'UNSUPPORTED_ALGORITHM',
  'BAD_MRZ',
  'BAD_CERTIFICATE',
  'BAD_KEY',
  'BAD_MASTER_LIST',
  'BAD_CRL',
  'UNREADABLE_FILE',
  'UNKNOWN_FILE_TYPE',
];

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  /** Rewrites one of the first bytes of a TLV header, where tags and lengths live. */
  | { kind: 'header'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant('header' as const),
    at: fc.integer({ min: 0, max: 12 }),
    value: fc.constantFrom(0x00, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xff),
  }),
);

function mutate(input: Buffer, m: Mutation): Buffer {
  const at = m.at % Math.max(input.length, 1);
  const out = Buffer.from(input);
  switch (m.kind) {
    case 'flip':
      out[at] = (out[at] ?? 0) ^ (1 << m.bit);
      return out;
    case 'set':
    case 'header':
      out[at] = m.value;
      return out;
    case 'truncate':
      return out.subarray(0, at);
    case 'insert':
      return Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    case 'delete':
      return Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
  }
}

const FILES = ['sod', 'dg1', 'dg2', 'dg14', 'dg15'] as const;

describe('mutated documents never crash the verifier', () => {
  const p = passport({ aaKey: 'ecdsa' });
  const store = storeFor(p);
  const challenge = randomBytes(8);
  const base: VerifyDocumentInput = {
    sod: p.files['EF_SOD.bin'],
    dg1: p.files['EF_DG1.bin'],
    dg2: p.files['EF_DG2.bin'],
    dg14: p.files['EF_DG14.bin'],
    dg15: p.files['EF_DG15.bin'],
    trustStore: store,
    activeAuthentication: { challenge, signature: signActiveAuthentication(p.chipPrivateKeyPem as string, challenge) },
  };

  const baseline = verifyDocument(base);

  it('the unmutated document is accepted (the baseline is meaningful)', () => {
    expect(baseline.verdict).toBe('accepted');
  });

  it('10,000 mutated SODs and data groups give a verdict, never a throw, and never accept altered content', () => {
    let runs = 0;
    let formatErrors = 0;
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...FILES, 'sod', 'sod'), fc.array(mutation, { minLength: 1, maxLength: 3 }), (file, mutations) => {
        const original = base[file] as Buffer;
        const damaged = mutations.reduce(mutate, original);
        fc.pre(!damaged.equals(original));
        runs++;
        const result = verifyDocument({ ...base, [file]: damaged });
        expect(['accepted', 'rejected', 'inconclusive']).toContain(result.verdict);
        if (result.verdict === 'accepted') {
          // Bytes no signature covers (e.g. SignedData.digestAlgorithms) may change; what the verdict vouches for may not.
          accepted++;
          expect(file).toBe('sod');
          expect(result.document).toEqual(baseline.document);
          expect(result.dataGroups).toEqual(baseline.dataGroups);
        }
        if (result.formatError) {
          formatErrors++;
          expect(CODES).toContain(result.formatError.code);
          expect(result.formatError.message.length).toBeGreaterThan(0);
        }
        if (result.verdict === 'inconclusive') {
          // Only damage to the AA inputs can leave the chip verified: DG14/DG15 are checked by hash.
          expect(['dg14', 'dg15']).not.toContain(file);
        }
      }),
      { numRuns: 10_500, endOnFailure: true },
    );
    expect(runs).toBeGreaterThanOrEqual(10_000);
    expect(formatErrors).toBeGreaterThan(1000);
    expect(accepted).toBeLessThan(runs / 20);
  }, 120_000);

  it('random bytes as any file are a typed rejection from every parser', () => {
    const parsers = [parseSod, (b: Uint8Array) => parseDg1(b), parseDg2Faces, parseDg14, parseDg15, parseCom];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(0x77, 0x61, 0x75, 0x6e, 0x6f, 0x60, 0x30), (bytes, tag) => {
        for (const input of [Buffer.from(bytes), Buffer.concat([Buffer.from([tag, 0x82, bytes.length >> 8, bytes.length & 0xff]), bytes])]) {
          for (const parse of parsers) {
            try {
              parse(input);
            } catch (error) {
              expect(error).toBeInstanceOf(IcaoFormatError);
            }
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a damaged DG2 gives its faces from inside the file, or a typed rejection', () => {
    const dg2 = passport({ aaKey: 'none' }).files['EF_DG2.bin'];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(dg2.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const damaged = Buffer.from(dg2);
        for (const [at, byte] of edits) damaged[at] = byte;
        try {
          // Every image is a view of the input, never bytes read past it.
          for (const face of parseDg2Faces(damaged)) expect(face.image.buffer).toBe(damaged.buffer);
        } catch (error) {
          expect(error).toBeInstanceOf(IcaoFormatError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
