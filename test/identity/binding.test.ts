import { describe, expect, it } from 'vitest';
import { attributesToWrite, compareIdentity, isEnrolled, normaliseName, sameName } from '../../src/identity/binding.js';

const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F' as const, nationality: 'NOR' };
const enrolled = (identity: Record<string, string>) => Object.fromEntries(Object.entries(identity).map(([name, value]) => [name, { value }]));

describe('name normalisation', () => {
  it('ignores case, diacritics and separators', () => {
    expect(normaliseName("  O'Néil-Smith  jr ", 'single')).toBe('ONEILSMITHJR');
    expect(sameName('Zoë Ångström', 'ZOE ANGSTROM')).toBe(true);
    expect(sameName('SMITH-JONES', 'SMITH JONES')).toBe(true);
    expect(sameName('ANNA MARIA', 'ANNA<MARIA')).toBe(true);
    expect(sameName('José', 'JOSE')).toBe(true);
  });

  it('accepts both ICAO 9303 transliterations of Ä, Ö, Ü, Å and Ø, and the fixed ones of ß and Æ', () => {
    for (const spelling of ['MUELLER', 'MULLER', 'Müller']) expect(sameName('MÜLLER', spelling)).toBe(true);
    expect(sameName('JÖRG', 'JOERG')).toBe(true);
    expect(sameName('HÄNSEL', 'HANSEL')).toBe(true);
    expect(sameName('ÅSA', 'AASA')).toBe(true);
    expect(sameName('SØREN', 'SOEREN')).toBe(true);
    expect(sameName('STRAUß', 'STRAUSS')).toBe(true);
    expect(sameName('Ærø', 'AEROE')).toBe(true);
  });

  it('tells different names apart', () => {
    expect(sameName('SMITH', 'SMYTH')).toBe(false);
    expect(sameName('JANE', 'JANET')).toBe(false);
    expect(sameName('MÜLLER', 'MILLER')).toBe(false);
    expect(sameName('ANNA', '')).toBe(false);
  });
});

describe('identity comparison', () => {
  it('matches the same person with respelled names and another gender marker', () => {
    expect(compareIdentity(enrolled(JANE), { ...JANE, firstName: 'Jane', lastName: 'Smith', gender: 'X' })).toEqual({ matches: true });
  });

  it('names the fields that differ, never their values', () => {
    expect(compareIdentity(enrolled(JANE), { ...JANE, dateOfBirth: '1990-01-02' })).toEqual({ matches: false, mismatched: ['dateOfBirth'] });
    expect(compareIdentity(enrolled(JANE), { ...JANE, lastName: 'SMITH-DOE', nationality: 'SWE' })).toEqual({
      matches: false,
      mismatched: ['lastName', 'nationality'],
    });
  });

  it('binds the face too: a mismatch with the enrolled reference face is a mismatch; a comparison without a usable face decides nothing', () => {
    expect(compareIdentity(enrolled(JANE), JANE, { score: 0.62, match: true })).toEqual({ matches: true });
    expect(compareIdentity(enrolled(JANE), JANE, { score: 0.21, match: false })).toEqual({ matches: false, mismatched: ['face'] });
    expect(compareIdentity(enrolled(JANE), { ...JANE, dateOfBirth: '1980-02-03' }, { score: 0.3, match: false })).toEqual({
      matches: false,
      mismatched: ['dateOfBirth', 'face'],
    });
    expect(compareIdentity(enrolled(JANE), JANE, { score: null, match: false })).toEqual({ matches: true });
  });

  it('refuses to bind to a user without an enrolled identity', () => {
    expect(compareIdentity({}, JANE)).toEqual({ matches: false, mismatched: ['notEnrolled'] });
    expect(isEnrolled([])).toBe(false);
    expect(isEnrolled(['firstName', 'lastName', 'dateOfBirth'])).toBe(false);
    expect(isEnrolled(['firstName', 'lastName', 'dateOfBirth', 'nationality', 'gender'])).toBe(true);
  });

  it('writes the identity on onboarding, only the document attributes on a step-up', () => {
    const document = { documentNumber: 'L898902C3', issuingState: 'UTO', dateOfExpiry: '2031-12-01' };
    expect(attributesToWrite('onboarding', JANE, document)).toEqual({ ...JANE, ...document });
    expect(attributesToWrite('stepup', JANE, document)).toEqual(document);
    expect(attributesToWrite('stepup', JANE, undefined)).toEqual({});
  });
});
