import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MrzInput, buildMrz, checkDigit, parseMrz, resolveBirthDate, resolveExpiryDate, toIsoCountry, transliterate } from '../../src/icao/mrz.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const TD3 = ['P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<', 'L898902C36UTO7408122F1204159ZE184226B<<<<<10'];
const TD1 = ['I<UTOD231458907<<<<<<<<<<<<<<<', '7408122F1204159UTO<<<<<<<<<<<6', 'ERIKSSON<<ANNA<MARIA<<<<<<<<<<'];

function parsed(lines: string | string[]) {
  const result = parseMrz(lines, { now: NOW });
  if (!result.ok) throw new Error(result.error.message);
  return result;
}

describe('check digits (Doc 9303-3 §4.9)', () => {
  it.each([
    ['L898902C3', 6],
    ['740812', 2],
    ['120415', 9],
    ['ZE184226B<<<<<', 1],
    ['<<<<', 0],
  ])('%s → %i', (text, digit) => expect(checkDigit(text)).toBe(digit));
});

describe('ICAO specimens', () => {
  it('TD3 (Part 4) parses with every check digit valid', () => {
    const r = parsed(TD3);
    expect(r.valid).toBe(true);
    expect(r.checks.map((c) => [c.field, c.valid])).toEqual([
      ['documentNumber', true],
      ['dateOfBirth', true],
      ['dateOfExpiry', true],
      ['optionalData', true],
      ['composite', true],
    ]);
    expect(r.fields).toMatchObject({
      format: 'TD3',
      documentCode: 'P',
      issuingState: 'UTO',
      documentNumber: 'L898902C3',
      nationality: 'UTO',
      lastName: 'ERIKSSON',
      firstName: 'ANNA MARIA',
      dateOfBirth: '1974-08-12',
      dateOfExpiry: '2012-04-15',
      sex: 'F',
      optionalData: 'ZE184226B',
    });
  });

  it('TD1 (Part 5) parses with every check digit valid', () => {
    const r = parsed(TD1.join('\n'));
    expect(r.valid).toBe(true);
    expect(r.fields).toMatchObject({ format: 'TD1', documentCode: 'I', documentNumber: 'D23145890', lastName: 'ERIKSSON', firstName: 'ANNA MARIA' });
  });

  it('the builder reproduces both specimens byte for byte', () => {
    const person = {
      issuingState: 'UTO',
      nationality: 'UTO',
      lastName: 'Eriksson',
      firstName: 'Anna Maria',
      dateOfBirth: '1974-08-12',
      dateOfExpiry: '2012-04-15',
      sex: 'F' as const,
    };
    expect(buildMrz({ ...person, format: 'TD3', documentCode: 'P', documentNumber: 'L898902C3', optionalData: 'ZE184226B' })).toEqual(TD3);
    expect(buildMrz({ ...person, format: 'TD1', documentCode: 'I', documentNumber: 'D23145890' })).toEqual(TD1);
  });

  it('accepts the concatenated form stored in DG1', () => {
    expect(parsed(TD3.join('')).fields.documentNumber).toBe('L898902C3');
  });
});

describe('parsing details', () => {
  it('reports which check digit is wrong', () => {
    const bad = [TD3[0] as string, (TD3[1] as string).replace('7408122', '7408123')];
    const r = parsed(bad);
    expect(r.valid).toBe(false);
    expect(r.checks.filter((c) => !c.valid).map((c) => c.field)).toEqual(['dateOfBirth', 'composite']);
    expect(r.checks.find((c) => c.field === 'dateOfBirth')).toMatchObject({ printed: '3', computed: '2' });
  });

  it('reads TD1 long document numbers from the optional data', () => {
    const lines = buildMrz({
      format: 'TD1',
      documentCode: 'I',
      issuingState: 'UTO',
      documentNumber: 'D23145890734',
      nationality: 'UTO',
      lastName: 'A',
      firstName: 'B',
      dateOfBirth: '1974-08-12',
      dateOfExpiry: '2031-04-15',
      sex: 'M',
      optionalData: 'XYZ',
    });
    expect(lines[0]).toBe(`I<UTOD23145890<734${checkDigit('D23145890734')}<XYZ<<<<<<<`);
    const r = parsed(lines);
    expect(r.valid).toBe(true);
    expect(r.fields.documentNumber).toBe('D23145890734');
    expect(r.fields.optionalData).toBe('XYZ');
  });

  it('parses and builds TD2', () => {
    const input: MrzInput = {
      format: 'TD2',
      documentCode: 'I',
      issuingState: 'D',
      documentNumber: 'T22000129',
      nationality: 'D',
      lastName: 'Müller-Lüdenscheidt',
      firstName: 'Jürgen',
      dateOfBirth: '1964-08-12',
      dateOfExpiry: '2030-10-31',
      sex: 'M',
    };
    const lines = buildMrz(input);
    expect(lines.map((l) => l.length)).toEqual([36, 36]);
    const r = parsed(lines);
    expect(r.valid).toBe(true);
    expect(r.fields).toMatchObject({ issuingStateCode: 'D', issuingState: 'DEU', nationality: 'DEU', lastName: 'MUELLER LUEDENSCHEIDT', firstName: 'JUERGEN' });
  });

  it('maps sex < and X to X', () => {
    expect(parsed([TD3[0] as string, (TD3[1] as string).replace('2F12', '2<12')]).fields.sex).toBe('X');
    const x = parsed([TD3[0] as string, (TD3[1] as string).replace('2F12', '2X12')]);
    expect(x.fields.sex).toBe('X');
  });

  it('never throws on bad text', () => {
    for (const input of ['', 'hello', 'P<UTO'.padEnd(88, '?'), TD3[0] as string, '\u0000'.repeat(90), ['a', 'b', 'c']]) {
      const r = parseMrz(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('BAD_MRZ');
    }
  });

  it('flags impossible dates as problems', () => {
    const lines = [TD3[0] as string, (TD3[1] as string).replace('1204159', '1302309')];
    const r = parsed(lines);
    expect(r.fields.dateOfExpiry).toBeNull();
    expect(r.problems.join()).toMatch(/not a date/);
  });
});

describe('codes, names and dates', () => {
  it('maps ICAO-only codes to ISO 3166-1 alpha-3 and keeps special codes', () => {
    expect(toIsoCountry('D<<')).toBe('DEU');
    for (const code of ['GBD', 'GBN', 'GBO', 'GBP', 'GBS']) expect(toIsoCountry(code)).toBe('GBR');
    for (const code of ['XXA', 'XXB', 'XXC', 'XXX', 'UNO', 'UNA', 'UNK', 'EUE', 'UTO', 'NLD', 'RKS']) expect(toIsoCountry(code)).toBe(code);
  });

  it('transliterates national characters (Doc 9303-3 §6)', () => {
    expect(transliterate("Ängström-O'Brien")).toBe('AENGSTROEM<OBRIEN');
    expect(transliterate('Þór Ñúñez Øster Straße')).toBe('THOR<NUNEZ<OESTER<STRASSE');
    expect(transliterate('  José  María ')).toBe('JOSE<MARIA');
  });

  it('puts birth dates in the past and expiry dates near now', () => {
    expect(resolveBirthDate('740812', NOW)).toBe('1974-08-12');
    expect(resolveBirthDate('260531', NOW)).toBe('2026-05-31');
    expect(resolveBirthDate('260602', NOW)).toBe('1926-06-02');
    expect(resolveBirthDate('000229', NOW)).toBe('2000-02-29');
    expect(resolveExpiryDate('120415', NOW)).toBe('2012-04-15');
    expect(resolveExpiryDate('360101', NOW)).toBe('2036-01-01');
    expect(resolveExpiryDate('991231', NOW)).toBe('1999-12-31');
    expect(resolveExpiryDate('010231', NOW)).toBeNull();
  });
});

describe('properties', () => {
  // Short enough that even TD1's 30-character name field needs no truncation.
  const letters = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: 1, maxLength: 5 });
  const name = fc.array(letters, { minLength: 1, maxLength: 2 }).map((parts) => parts.join(' '));
  const alnum = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
  const date = fc.date({ min: new Date('1931-01-01'), max: new Date('2025-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  const expiry = fc.date({ min: new Date('2000-01-01'), max: new Date('2040-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  const input = fc.record({
    format: fc.constantFrom('TD1' as const, 'TD2' as const, 'TD3' as const),
    documentCode: fc.constantFrom('P', 'I', 'ID', 'AC'),
    issuingState: fc.constantFrom('UTO', 'D', 'NLD', 'GBD', 'XXA'),
    documentNumber: fc.string({ unit: alnum, minLength: 1, maxLength: 9 }),
    nationality: fc.constantFrom('UTO', 'D', 'FRA', 'XXB'),
    lastName: name,
    firstName: name,
    dateOfBirth: date,
    dateOfExpiry: expiry,
    sex: fc.constantFrom('M' as const, 'F' as const, 'X' as const),
    optionalData: fc.string({ unit: alnum, maxLength: 7 }),
  });

  it('build → parse round-trips every field', () => {
    fc.assert(
      fc.property(input, (i) => {
        const r = parsed(buildMrz(i));
        expect(r.valid).toBe(true);
        expect(r.fields).toMatchObject({
          format: i.format,
          documentNumber: i.documentNumber,
          lastName: i.lastName,
          firstName: i.firstName,
          dateOfBirth: i.dateOfBirth,
          dateOfExpiry: i.dateOfExpiry,
          sex: i.sex,
          optionalData: i.optionalData,
          issuingStateCode: i.issuingState,
        });
      }),
      { numRuns: 500 },
    );
  });

  /** Check-digit value of an MRZ character. */
  const value = (ch: string) => (ch === '<' ? 0 : /\d/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 55);

  it('7-3-1 cannot see substitutions whose values differ by a multiple of 10 (e.g. 0 ↔ A)', () => {
    expect(checkDigit('L898902C3')).toBe(checkDigit('L898902M3'));
    expect(checkDigit('A1')).toBe(checkDigit('01'));
  });

  it('changing a single character of a check-digited field breaks a check digit', () => {
    fc.assert(
      fc.property(input, fc.nat(), alnum, (i, pick, replacement) => {
        const lines = buildMrz(i);
        const r = parsed(lines);
        // Positions (line, start, end) of the document number, birth date and expiry date fields.
        const layout: Record<string, [number, number, number][]> = {
          TD1: [
            [0, 5, 14],
            [1, 0, 6],
            [1, 8, 14],
          ],
          TD2: [
            [1, 0, 9],
            [1, 13, 19],
            [1, 21, 27],
          ],
          TD3: [
            [1, 0, 9],
            [1, 13, 19],
            [1, 21, 27],
          ],
        };
        const positions = (layout[r.fields.format] ?? []).flatMap(([line, start, end]) =>
          Array.from({ length: end - start }, (_, k) => [line, start + k] as const),
        );
        const [line, column] = positions[pick % positions.length] as readonly [number, number];
        const original = (lines[line] as string)[column];
        // Weights 7, 3 and 1 are coprime with 10, so every other substitution must change the digit.
        fc.pre((value(replacement) - value(original as string)) % 10 !== 0);
        const mutated = [...lines];
        mutated[line] = (lines[line] as string).slice(0, column) + replacement + (lines[line] as string).slice(column + 1);
        const after = parseMrz(mutated, { now: NOW });
        expect(after.ok && after.checks.every((c) => c.valid)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});
