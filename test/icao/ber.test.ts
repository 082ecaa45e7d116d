import { describe, expect, it } from 'vitest';
import { codeOf } from './helpers.js';
import { readBerHeader, type BerRules } from '../../src/icao/ber.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const LDS: BerRules = { maxTagBytes: 3, refusePaddingTag: true, allowIndefinite: false };
const ASN1: BerRules = { maxTagBytes: 5, refusePaddingTag: false, allowIndefinite: true };
const read = (bytes: string, rules: BerRules, limit?: number) => {
  const b = hex(bytes);
  return readBerHeader(b, 0, limit ?? b.length, rules, 'test');
};

describe('BER header reader', () => {
  it('reads the tag bytes as a number, the first tag byte, and the value bounds', () => {
    expect(read('5F1F 02 4142', LDS)).toEqual({ firstTagByte: 0x5f, tag: 0x5f1f, constructed: false, valueStart: 3, valueEnd: 5 });
    expect(read('30 82 0001 00', ASN1)).toEqual({ firstTagByte: 0x30, tag: 0x30, constructed: true, valueStart: 4, valueEnd: 5 });
    expect(read('30 80 0000', ASN1)).toEqual({ firstTagByte: 0x30, tag: 0x30, constructed: true, valueStart: 2, valueEnd: undefined });
  });

  it("applies each caller's tag rules", () => {
    expect(codeOf(() => read('5F 8181 01 00 00', LDS))).toBe('BAD_TAG');
    expect(read('5F 818181 01 01 00', ASN1).tag).toBe(0x5f81818101);
    expect(codeOf(() => read('5F 81818181 01 00', ASN1))).toBe('BAD_TAG');
    expect(codeOf(() => read('00 00', LDS))).toBe('BAD_TAG');
    expect(codeOf(() => read('FF 00', LDS))).toBe('BAD_TAG');
    expect(read('00 00', ASN1).valueEnd).toBe(2);
  });

  it('refuses indefinite lengths where the caller does, and on primitives always', () => {
    expect(codeOf(() => read('30 80 0000', LDS))).toBe('BAD_LENGTH');
    expect(codeOf(() => read('04 80 0000', ASN1))).toBe('BAD_LENGTH');
  });

  it('never reads at or past the limit', () => {
    expect(codeOf(() => read('04 01 00', ASN1, 2))).toBe('TRUNCATED');
    expect(codeOf(() => read('04 82 00', ASN1))).toBe('TRUNCATED');
    expect(codeOf(() => read('5F 81', LDS, 2))).toBe('TRUNCATED');
    expect(codeOf(() => read('04 01 00', ASN1, 1))).toBe('TRUNCATED');
    expect(codeOf(() => read('04 01', LDS, 99))).toBe('TRUNCATED');
    expect(codeOf(() => read('04 85 0000000001 00', ASN1))).toBe('BAD_LENGTH');
  });
});
