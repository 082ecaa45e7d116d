import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from './helpers.js';
import { decodeTlvTree, encodeLength, encodeTlv, isValidTag, readFileTlv, readTlv } from '../../src/icao/tlv.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

describe('BER-TLV', () => {
  it('reads one-, two- and three-byte tags and long-form lengths', () => {
    expect(readTlv(hex('61 03 5F1F 00'))).toMatchObject({ tag: 0x61, constructed: true });
    expect(readTlv(hex('5F1F 02 4142'))).toMatchObject({ tag: 0x5f1f, value: Buffer.from('AB') });
    expect(readTlv(hex('5F8101 01 00')).tag).toBe(0x5f8101);
    const long = encodeTlv(0x75, Buffer.alloc(300, 7));
    expect(long.subarray(0, 4)).toEqual(hex('75 82 012C'));
    expect(readTlv(long).value.length).toBe(300);
  });

  it('encodes lengths in the shortest form', () => {
    expect(encodeLength(0x7f)).toEqual(hex('7f'));
    expect(encodeLength(0x80)).toEqual(hex('8180'));
    expect(encodeLength(0x10000)).toEqual(hex('83010000'));
  });

  it('rejects truncation, lying lengths, indefinite lengths and trailing bytes with typed codes', () => {
    expect(codeOf(() => readTlv(hex('')))).toBe('TRUNCATED');
    expect(codeOf(() => readTlv(hex('61')))).toBe('TRUNCATED');
    expect(codeOf(() => readTlv(hex('61 05 0102')))).toBe('TRUNCATED');
    expect(codeOf(() => readTlv(hex('61 84 FFFFFFFF 00')))).toBe('TRUNCATED');
    expect(codeOf(() => readTlv(hex('61 85 0000000001 00')))).toBe('BAD_LENGTH');
    expect(codeOf(() => readTlv(hex('61 80 0000')))).toBe('BAD_LENGTH');
    expect(codeOf(() => readTlv(hex('5F')))).toBe('TRUNCATED');
    expect(codeOf(() => readTlv(hex('5F 8181 81 00')))).toBe('BAD_TAG');
    expect(codeOf(() => readFileTlv(hex('61 00 00'), 0x61, 'DG1'))).toBe('TRAILING_BYTES');
    expect(codeOf(() => readFileTlv(hex('62 00'), 0x61, 'DG1'))).toBe('UNEXPECTED_TAG');
  });

  it('stops at the maximum nesting depth instead of recursing without bound', () => {
    let nested: Buffer = hex('04 00');
    for (let i = 0; i < 40; i++) nested = encodeTlv(0x30, nested);
    expect(codeOf(() => decodeTlvTree(nested, 16))).toBe('TOO_DEEP');
    expect(decodeTlvTree(nested, 64)).toHaveLength(1);
  });

  it('round-trips any tree of TLVs (property)', () => {
    const primitiveTag = fc.oneof(fc.integer({ min: 0x01, max: 0x1e }), fc.integer({ min: 0x80, max: 0x9e }), fc.constantFrom(0x5f1f, 0x5f2e, 0x5f01));
    const constructedTag = fc.constantFrom(0x30, 0x61, 0x75, 0x7f61, 0x7f60, 0xa1);
    const { tree } = fc.letrec<{ tree: { tag: number; value: Buffer | unknown[] } }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ tag: primitiveTag, value: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) }),
        fc.record({ tag: constructedTag, value: fc.array(tie('tree'), { maxLength: 4 }) }),
      ),
    }));
    type Node = { tag: number; value: Buffer | Node[] };
    const encode = (n: Node): Buffer => encodeTlv(n.tag, Buffer.isBuffer(n.value) ? n.value : Buffer.concat(n.value.map(encode)));
    const strip = (n: ReturnType<typeof decodeTlvTree>[number]): Node => ({ tag: n.tag, value: n.children ? n.children.map(strip) : Buffer.from(n.value) });
    fc.assert(
      fc.property(tree, (t) => {
        const node = t as Node;
        const bytes = encode(node);
        const [decoded] = decodeTlvTree(bytes, 64);
        expect(strip(decoded as never)).toEqual(node);
        expect(decoded?.raw.equals(bytes)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('validates tags before encoding', () => {
    expect(isValidTag(0x5f1f)).toBe(true);
    expect(isValidTag(0x1f)).toBe(false);
    expect(isValidTag(0x1234)).toBe(false);
    expect(() => encodeTlv(0x1234, Buffer.alloc(0))).toThrow(RangeError);
  });
});
