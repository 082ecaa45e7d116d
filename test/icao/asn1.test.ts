import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as reader from '../../src/icao/asn1.js';
import type { RawElement } from '../../src/icao/asn1.js';
import { IcaoFormatError } from '../../src/icao/errors.js';
import { codeOf } from './helpers.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const el = (s: string): RawElement => {
  const bytes = hex(s);
  return { tag: bytes[0] as number, bytes };
};
const der = (block: { toBER(sizeOnly?: boolean): ArrayBuffer }): RawElement => {
  const bytes = Buffer.from(block.toBER(false));
  return { tag: bytes[0] as number, bytes };
};
const ascii = (tag: number, text: string) => {
  const bytes = Buffer.concat([Buffer.from([tag, text.length]), Buffer.from(text, 'latin1')]);
  return { tag, bytes };
};

describe('DER INTEGER (small)', () => {
  it('reads minimal encodings up to four content octets', () => {
    expect(reader.readSmallInt(el('02 01 00'), 'v')).toBe(0);
    expect(reader.readSmallInt(el('02 01 7f'), 'v')).toBe(127);
    expect(reader.readSmallInt(el('02 02 0080'), 'v')).toBe(128);
    expect(reader.readSmallInt(el('02 04 7fffffff'), 'v')).toBe(2 ** 31 - 1);
  });

  it('agrees with asn1js on every non-negative 31-bit value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n) => {
        expect(reader.readSmallInt(der(new asn1js.Integer({ value: n })), 'v')).toBe(n);
      }),
    );
  });

  it('rejects empty, negative, non-minimal and oversized integers', () => {
    expect(codeOf(() => reader.readSmallInt(el('02 00'), 'v'))).toBe('BAD_STRUCTURE');
    expect(codeOf(() => reader.readSmallInt(el('02 01 80'), 'v'))).toBe('BAD_STRUCTURE');
    expect(codeOf(() => reader.readSmallInt(el('02 02 ff80'), 'v'))).toBe('BAD_STRUCTURE');
    expect(() => reader.readSmallInt(el('02 02 0001'), 'v')).toThrow(/not minimally encoded/);
    expect(() => reader.readSmallInt(el('02 05 0080000000'), 'v')).toThrow(/too large/);
    expect(() => reader.readSmallInt(el('02 05 7fffffffff'), 'v')).toThrow(/too large/);
  });

  it('rejects other tags, constructed forms and indefinite lengths', () => {
    expect(() => reader.readSmallInt(el('04 01 01'), 'v')).toThrow(/expected tag 0x2, found 0x4/);
    expect(codeOf(() => reader.readSmallInt(el('22 03 020101'), 'v'))).toBe('BAD_STRUCTURE');
    expect(codeOf(() => reader.readSmallInt(el('02 80 01 0000'), 'v'))).toBe('BAD_LENGTH');
  });
});

describe('DER lengths', () => {
  it('reads long-form lengths in the shortest form', () => {
    expect(reader.readOctets(el(`04 81 80 ${'ab'.repeat(0x80)}`), 'o')).toHaveLength(0x80);
    expect(reader.readOctets(el(`04 82 0100 ${'ab'.repeat(0x100)}`), 'o')).toHaveLength(0x100);
  });

  it('rejects lengths that are not in the shortest form', () => {
    expect(codeOf(() => reader.readOctets(el('04 81 01 ab'), 'o'))).toBe('BAD_LENGTH');
    expect(codeOf(() => reader.readOctets(el(`04 82 0080 ${'ab'.repeat(0x80)}`), 'o'))).toBe('BAD_LENGTH');
    expect(codeOf(() => reader.readOctets(el('04 80 ab 0000'), 'o'))).toBe('BAD_LENGTH');
  });

  it('rejects truncation, lying lengths and trailing bytes', () => {
    expect(codeOf(() => reader.readOctets(el('04'), 'o'))).toBe('TRUNCATED');
    expect(codeOf(() => reader.readOctets(el('04 03 abab'), 'o'))).toBe('TRUNCATED');
    expect(codeOf(() => reader.readOctets(el('04 84 ffffffff ab'), 'o'))).toBe('TRUNCATED');
    expect(codeOf(() => reader.readOctets(el('04 85 0000000001 ab'), 'o'))).toBe('BAD_LENGTH');
    expect(codeOf(() => reader.readOctets(el('04 01 ab cd'), 'o'))).toBe('TRAILING_BYTES');
  });
});

describe('DER OBJECT IDENTIFIER', () => {
  it('reads the arcs, including the packed first two', () => {
    expect(reader.readOid(el('06 09 608648016503040201'), 'oid')).toBe('2.16.840.1.101.3.4.2.1');
    expect(reader.readOid(el('06 06 2a864886f70d'), 'oid')).toBe('1.2.840.113549');
    expect(reader.readOid(el('06 03 550403'), 'oid')).toBe('2.5.4.3');
    expect(reader.readOid(el('06 01 00'), 'oid')).toBe('0.0');
    expect(reader.readOid(el('06 02 8837'), 'oid')).toBe('2.999');
  });

  it('keeps arcs beyond 2^53 exact (2.25 UUID OIDs)', () => {
    const uuid = '2.25.329800735698586629295641978511506172918';
    expect(reader.readOid(der(new asn1js.ObjectIdentifier({ value: uuid })), 'oid')).toBe(uuid);
  });

  it('agrees with the asn1js encoder (property)', () => {
    const arc = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String));
    // At most 2 + 5 × 10 octets: within the 64-octet bound.
    const oid = fc
      .tuple(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 39 }), fc.array(arc, { maxLength: 5 }))
      .map(([first, second, rest]) => [first, second, ...rest].join('.'));
    fc.assert(
      fc.property(oid, (value) => {
        expect(reader.readOid(der(new asn1js.ObjectIdentifier({ value })), 'oid')).toBe(value);
      }),
    );
  });

  it('rejects empty, unterminated, non-minimal and oversized identifiers', () => {
    expect(() => reader.readOid(el('06 00'), 'oid')).toThrow(/0 octets/);
    expect(() => reader.readOid(el('06 02 2a86'), 'oid')).toThrow(/ends inside an arc/);
    expect(() => reader.readOid(el('06 03 2a8001'), 'oid')).toThrow(/not minimally encoded/);
    expect(() => reader.readOid(el('06 02 8001'), 'oid')).toThrow(/not minimally encoded/);
    expect(() => reader.readOid(el(`06 41 ${'01'.repeat(0x41)}`), 'oid')).toThrow(/65 octets/);
    expect(codeOf(() => reader.readOid(el('02 01 01'), 'oid'))).toBe('BAD_STRUCTURE');
  });
});

describe('OCTET STRING', () => {
  it('returns a copy of a primitive value', () => {
    const element = el('04 02 abcd');
    const value = reader.readOctets(element, 'o');
    element.bytes[2] = 0;
    expect(value).toEqual(hex('abcd'));
  });

  it('rejects the constructed form where DER applies', () => {
    expect(codeOf(() => reader.readOctets(el('24 04 0402abcd'), 'o'))).toBe('BAD_STRUCTURE');
  });

  it('joins BER chunks, definite or indefinite and nested, where BER is allowed', () => {
    expect(reader.readBerOctets(el('04 02 abcd'), 'o')).toEqual(hex('abcd'));
    expect(reader.readBerOctets(el('24 80 0402abcd 0401ef 0000'), 'o')).toEqual(hex('abcdef'));
    expect(reader.readBerOctets(el('24 09 2403 0401ab 0402cdef'), 'o')).toEqual(hex('abcdef'));
    expect(codeOf(() => reader.readBerOctets(el('24 03 020101'), 'o'))).toBe('BAD_STRUCTURE');
  });
});

describe('UTCTime and GeneralizedTime', () => {
  it('reads RFC 5652 signingTime values', () => {
    expect(reader.readTime(ascii(0x17, '250131235959Z'), 't').toISOString()).toBe('2025-01-31T23:59:59.000Z');
    expect(reader.readTime(ascii(0x17, '491231000000Z'), 't').toISOString()).toBe('2049-12-31T00:00:00.000Z');
    expect(reader.readTime(ascii(0x17, '500101000000Z'), 't').toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(reader.readTime(ascii(0x18, '20500101000000Z'), 't').toISOString()).toBe('2050-01-01T00:00:00.000Z');
    expect(reader.readTime(ascii(0x17, '240229120000Z'), 't').toISOString()).toBe('2024-02-29T12:00:00.000Z');
  });

  it('rejects impossible dates, missing seconds, offsets, fractions and other types', () => {
    for (const text of ['250229120000Z', '251301000000Z', '250431000000Z', '250101240000Z', '250101126000Z', '250101000060Z']) {
      expect(() => reader.readTime(ascii(0x17, text), 't')).toThrow(/not a valid UTC time/);
    }
    for (const text of ['2501011200Z', '250101120000', '250101120000+0100', '2501O1120000Z']) {
      expect(() => reader.readTime(ascii(0x17, text), 't')).toThrow(/not a valid UTC time/);
    }
    expect(() => reader.readTime(ascii(0x18, '20250101120000.5Z'), 't')).toThrow(/not a valid UTC time/);
    expect(() => reader.readTime(ascii(0x18, '250101120000Z'), 't')).toThrow(/not a valid UTC time/);
    expect(() => reader.readTime(ascii(0x13, '250101120000Z'), 't')).toThrow(/expected UTCTime or GeneralizedTime/);
  });
});

describe('raw navigation', () => {
  it('lists children, definite or indefinite, and checks each child against its parent', () => {
    expect(reader.rawChildren(hex('30 06 020101 0401ab'), 's').map((c) => c.tag)).toEqual([0x02, 0x04]);
    expect(reader.rawChildren(hex('30 80 020101 3080 0000 0000'), 's').map((c) => c.bytes.toString('hex'))).toEqual(['020101', '30800000']);
    expect(codeOf(() => reader.rawChildren(hex('30 03 040500'), 's'))).toBe('TRUNCATED');
    expect(codeOf(() => reader.rawChildren(hex('30 80 020101'), 's'))).toBe('TRUNCATED');
    expect(codeOf(() => reader.rawChildren(hex('04 01 00'), 's'))).toBe('BAD_STRUCTURE');
  });

  it('reader.SequenceReader takes required and optional elements in order', () => {
    const seq = new reader.SequenceReader(hex('30 08 020101 a000 0401ab'), 's');
    expect(reader.readSmallInt(seq.next(0x02), 'v')).toBe(1);
    expect(seq.optional(0xa1)).toBeUndefined();
    expect(seq.optional(0xa0)?.bytes).toEqual(hex('a000'));
    expect(() => seq.end()).toThrow(/unexpected trailing elements/);
    expect(reader.readOctets(seq.next(0x04), 'o')).toEqual(hex('ab'));
    seq.end();
    expect(() => new reader.SequenceReader(hex('31 00'), 's')).toThrow(/expected a SEQUENCE/);
    expect(() => new reader.SequenceReader(hex('30 03 020101'), 's').next(0x04)).toThrow(/not tag 0x4/);
  });

  it('reader.expectChildren checks the outer tag, the count and each tag', () => {
    expect(reader.expectChildren(hex('a0 03 020101'), 'x', [0x02], 0xa0)[0].tag).toBe(0x02);
    expect(() => reader.expectChildren(hex('a0 03 020101'), 'x', [0x02])).toThrow(/expected tag 0x30/);
    expect(() => reader.expectChildren(hex('30 03 020101'), 'x', [0x02, 0x04])).toThrow(/unexpected elements/);
    expect(() => reader.expectChildren(hex('30 03 020101'), 'x', [0x04])).toThrow(/unexpected elements/);
    expect(reader.expectChildren(hex('30 03 020101'), 'x', [undefined])).toHaveLength(1);
  });
});

describe('values asn1js cannot convert', () => {
  it('turns a GeneralizedTime with letters in it into a format error, not a plain Error (found by the fuzz test)', () => {
    const text = Buffer.from('2023AB01000000Z');
    const element = Buffer.concat([Buffer.from([0x18, text.length]), text]);
    expect(() => reader.parseDer(element, 'signing time')).toThrow(IcaoFormatError);
    expect(() => reader.parseDer(element, 'signing time')).toThrow(/signing time/);
  });
});
