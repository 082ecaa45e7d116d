import type { FaceMatchSummary } from '../proofing/assurance.js';
import type { UserData } from './user-data.js';
import type { VerifiedAttribute } from './users.js';

/**
 * Identity binding: what onboarding established is what every later proofing is compared with. A step-up must prove
 * the same person (same date of birth, names and nationality); it may use another document (a renewed passport has
 * a new number), and it never rewrites the enrolled identity, only the document attributes.
 */

/** The enrolled identity: written by onboarding, never by a step-up. */
export const IDENTITY_ATTRIBUTES = ['firstName', 'lastName', 'dateOfBirth', 'gender', 'nationality'] as const;

/**
 * Compared on step-up. Gender is enrolled but not compared: it may change legitimately between documents (an X
 * marker, a change of legal gender), and date of birth, names and nationality already single out the person.
 */
const COMPARED = ['firstName', 'lastName', 'dateOfBirth', 'nationality'] as const;
type ComparedAttribute = (typeof COMPARED)[number];

/** The document a proofing used, when the provider knows it: verified attributes that a renewal may update. */
export interface DocumentAttributes {
  documentNumber?: string;
  /** ICAO 9303 document code (P, PD, ID…), or the provider's document type. */
  documentType?: string;
  /** ICAO 9303 issuing state or organisation (3 letters as printed, e.g. D for Germany). */
  issuingState?: string;
  /** YYYY-MM-DD. */
  dateOfExpiry?: string;
}

/** Whether a user has an enrolled identity to bind a step-up to (an onboarding completed). */
export function isEnrolled(attributeNames: readonly string[]): boolean {
  return COMPARED.every((name) => attributeNames.includes(name));
}

type Mismatch = ComparedAttribute | 'face' | 'notEnrolled';
export type BindingResult = { matches: true } | { matches: false; mismatched: Mismatch[] };

/**
 * Compares a proofed identity with the enrolled attributes, and the person's face with the enrolled reference face
 * when one was compared; the result names fields, never values. A face comparison without a usable face on either
 * side proves nothing either way and is left to the provider's own rules.
 */
export function compareIdentity(
  enrolled: Record<string, Pick<VerifiedAttribute, 'value'>>,
  proofed: UserData,
  enrolledFace?: Pick<FaceMatchSummary, 'score' | 'match'>,
): BindingResult {
  if (COMPARED.some((name) => enrolled[name] === undefined)) return { matches: false, mismatched: ['notEnrolled'] };
  const mismatched: Mismatch[] = COMPARED.filter((name) => {
    const before = enrolled[name]!.value;
    const now = proofed[name];
    return name === 'firstName' || name === 'lastName' ? !sameName(before, now) : before !== now;
  });
  if (enrolledFace && enrolledFace.score !== null && !enrolledFace.match) mismatched.push('face');
  return mismatched.length === 0 ? { matches: true } : { matches: false, mismatched };
}

/**
 * Two spellings of one name. Both sides are normalised (Unicode NFKD, diacritics stripped, upper case, separators
 * removed) in two ways that differ only where ICAO 9303-3 §6 allows two transliterations (Ä as AE or A, Ö as OE or
 * O, Ü as UE or U, Å as AA or A, Ø as OE or O); the names match when any pair of forms is equal. So MÜLLER matches
 * MUELLER and MULLER, O'NEIL matches ONEIL, and SMITH-JONES matches SMITH JONES.
 */
export function sameName(a: string, b: string): boolean {
  const formsOfA = nameForms(a);
  return nameForms(b).some((form) => formsOfA.includes(form));
}

/** The two normalised forms of a name: with the single-letter and with the two-letter transliteration. */
export function nameForms(name: string): string[] {
  return [normaliseName(name, 'single'), normaliseName(name, 'double')];
}

/** Letters ICAO 9303-3 transliterates two ways: [single-letter form, two-letter form]. */
const TWO_WAY: Record<string, [string, string]> = {
  Ä: ['A', 'AE'],
  Ö: ['O', 'OE'],
  Ü: ['U', 'UE'],
  Å: ['A', 'AA'],
  Ø: ['O', 'OE'],
};

/** Letters NFKD does not decompose, with their ICAO 9303-3 transliteration. */
const SINGLE_WAY: Record<string, string> = { ß: 'SS', ẞ: 'SS', Æ: 'AE', Œ: 'OE', Þ: 'TH', Đ: 'D', Ð: 'D', Ł: 'L', Ħ: 'H', ı: 'I', Ŀ: 'L' };

/** Spaces, hyphens, apostrophes, MRZ fillers and punctuation: not part of the comparison. */
const SEPARATORS = /[\s\-‐‑‒–—'’‘`´<.,]+/gu;

export function normaliseName(name: string, transliteration: 'single' | 'double'): string {
  const upper = name.normalize('NFC').toLocaleUpperCase('en-US');
  let mapped = '';
  for (const char of upper) {
    const twoWay = TWO_WAY[char];
    mapped += twoWay ? twoWay[transliteration === 'single' ? 0 : 1] : (SINGLE_WAY[char] ?? char);
  }
  return mapped
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(SEPARATORS, '')
    .toLocaleUpperCase('en-US');
}

/** The attributes a proofing writes: the whole identity on onboarding, only the document's on a step-up. */
export function attributesToWrite(kind: 'onboarding' | 'stepup', userData: UserData, document: DocumentAttributes | undefined): Record<string, string> {
  const documentAttributes = Object.fromEntries(Object.entries(document ?? {}).filter(([, value]) => typeof value === 'string' && value !== ''));
  return kind === 'onboarding' ? { ...userData, ...documentAttributes } : documentAttributes;
}
