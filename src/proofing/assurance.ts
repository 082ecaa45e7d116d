import type { FaceComparison } from '../faces/types.js';

/**
 * Assurance levels as in eIDAS (Regulation 910/2014 art. 8, detailed by implementing regulation 2015/1502 annex
 * §2.1.2 "identity proofing and verification"), reached through the identity proofing use cases of ETSI TS 119 461.
 * The level is derived only from what this proofing actually checked, recorded in a VerificationSummary; nothing the
 * provider did not verify raises it.
 */
export const ASSURANCE_LEVELS = ['low', 'substantial', 'high'] as const;
export type AssuranceLevel = (typeof ASSURANCE_LEVELS)[number];

/** How a proofing was done, without personal data: reported to the RP with the level it gives. */
export interface VerificationSummary {
  /** `chip`: the document's chip was read and passed passive authentication; `image`: photos or video of it. */
  document: 'chip' | 'image' | 'sandbox';
  /** Proof that the chip is not a copy: the chip answered the server's Active Authentication challenge, or Chip Authentication was verified. */
  cloneDetection: 'active_authentication' | 'chip_authentication' | 'not_performed';
  /** The automated comparison of the person's face with the document's, or null when none was made. */
  faceMatch: FaceMatchSummary | null;
  /** A trained agent reviewed the evidence and approved it. */
  reviewedByAgent: boolean;
}

export interface FaceMatchSummary {
  /** Absent when either image gave no usable face. */
  score: number | null;
  threshold: number;
  match: boolean;
  model: string;
}

/** The summary of a FaceMatcher comparison, as providers put it in their decision. */
export function faceMatchSummary(comparison: FaceComparison): FaceMatchSummary {
  return { score: comparison.score ?? null, threshold: comparison.threshold, match: comparison.decision === 'match', model: comparison.model };
}

/**
 * The mapping, one row per way of proofing, most demanding first; the first row whose conditions hold gives the
 * level. Every row says which requirement it rests on.
 */
interface Rule {
  level: AssuranceLevel;
  when: (summary: VerificationSummary) => boolean;
  basis: string;
}

const faceMatched = (s: VerificationSummary) => s.faceMatch?.match === true;
const cloneChecked = (s: VerificationSummary) => s.cloneDetection !== 'not_performed';

export const ASSURANCE_RULES: readonly Rule[] = [
  {
    level: 'high',
    when: (s) => s.document === 'chip' && cloneChecked(s) && faceMatched(s),
    basis:
      '2015/1502 §2.1.2 high: the document is verified genuine by its issuer (passive authentication) and not a copy (AA/CA), and the person is verified as its holder (face match to the chip photo); ETSI TS 119 461 use case with an eMRTD read by NFC and automated face comparison.',
  },
  {
    level: 'substantial',
    when: (s) => s.document === 'chip' && faceMatched(s),
    basis:
      'Chip data authentic and the person matches its photo, but the chip was not clone-checked (no AA/CA): a copied chip dump cannot be told from the original, which caps the level at substantial.',
  },
  {
    level: 'substantial',
    when: (s) => s.document === 'image' && s.reviewedByAgent && (s.faceMatch === null || faceMatched(s)),
    basis:
      '2015/1502 §2.1.2 substantial: document images checked for genuineness and the person compared with the photo by a trained operator (ETSI TS 119 461 attended remote proofing); image-only document checks never reach high.',
  },
  {
    level: 'low',
    when: () => true,
    basis:
      '2015/1502 §2.1.2 low: the document may be assumed genuine, but the person was not bound to it (no face match, no agent review), or the proofing was a sandbox simulation.',
  },
];

export function assuranceLevel(summary: VerificationSummary): AssuranceLevel {
  if (summary.document === 'sandbox') return 'low';
  return ASSURANCE_RULES.find((rule) => rule.when(summary))!.level;
}

/** Whether `level` is at least `minimum`. */
export function meetsAssurance(level: AssuranceLevel, minimum: AssuranceLevel): boolean {
  return ASSURANCE_LEVELS.indexOf(level) >= ASSURANCE_LEVELS.indexOf(minimum);
}
