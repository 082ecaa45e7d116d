import { toIsoCountry, type DocumentData, type VerificationResult } from '../../../icao/index.js';
import { UserDataSchema, type UserData } from '../../../identity/user-data.js';
import type { DocumentAttributes } from '../../../identity/binding.js';
import type { FaceQuality } from '../../../faces/types.js';
import type { FailureReason } from '../../../flows/failure-reasons.js';
import { faceMatchSummary, type FaceMatchSummary, type VerificationSummary } from '../../assurance.js';
import type { DuplicatePolicy } from './documents.js';
import type { FaceEvidence } from '../../faces.js';

/**
 * What a verification result means for the flow, in Signicat ReadID's terms (reuseid-notes §5.3):
 * `rejected` fails the proofing; an authentic but expired document fails too; `inconclusive` (the chip's data is
 * authentic but clone detection did not pass) gets a retry with a new challenge, MAX_ATTEMPTS in all; `accepted`
 * completes, unless the document belongs to another user of the account and the policy refuses that.
 */
export const MAX_ATTEMPTS = 3;

const REASONS = {
  chipVerificationFailed: 'chip_verification_failed',
  documentExpired: 'document_expired',
  cloneDetectionFailed: 'chip_clone_detection_failed',
  documentBoundToOtherUser: 'document_bound_to_other_user',
  documentDataIncomplete: 'document_data_incomplete',
  faceMismatch: 'face_mismatch',
  faceNotUsable: 'face_not_usable',
} as const satisfies Record<string, FailureReason>;

export type Assessment =
  | {
      outcome: 'accepted';
      userData: UserData;
      document: DocumentData;
      verification: VerificationSummary;
      duplicate: boolean;
      /** On a step-up: the selfie against the enrolled reference face. */
      enrolledFace?: FaceMatchSummary;
    }
  | { outcome: 'rejected'; reason: FailureReason }
  | { outcome: 'retry'; reason: FailureReason };

export interface AssessmentInput {
  result: VerificationResult;
  attempt: number;
  /** The document is already bound to another user of the account. */
  boundToOtherUser: boolean;
  policy: DuplicatePolicy;
}

export function assess({ result, attempt, boundToOtherUser, policy }: AssessmentInput): Assessment {
  // Expiry is read from DG1, so it means something only once the chip's data is known to be authentic.
  if (result.verdict === 'rejected' || !result.document) return { outcome: 'rejected', reason: REASONS.chipVerificationFailed };
  if (result.documentExpired) return { outcome: 'rejected', reason: REASONS.documentExpired };
  if (result.verdict === 'inconclusive') {
    return attempt >= MAX_ATTEMPTS ? { outcome: 'rejected', reason: REASONS.cloneDetectionFailed } : { outcome: 'retry', reason: REASONS.cloneDetectionFailed };
  }
  const userData = toUserData(result.document);
  if (!userData) return { outcome: 'rejected', reason: REASONS.documentDataIncomplete };
  if (boundToOtherUser && policy === 'reject') return { outcome: 'rejected', reason: REASONS.documentBoundToOtherUser };
  return { outcome: 'accepted', userData, document: result.document, verification: chipVerification(result), duplicate: boundToOtherUser };
}

/**
 * The person, once the chip is accepted: the selfie must show the chip photo's holder. A selfie without one usable
 * face (none, too small, or several: someone else's photo held up beside the holder) gets another attempt within
 * MAX_ATTEMPTS; a chip photo without a usable face, or a face that is not the holder's, ends the proofing. Without
 * a selfie (allowed only when the operator made it optional) the chip's assessment stands, with no face match.
 */
export function assessFace(chip: Extract<Assessment, { outcome: 'accepted' }>, face: FaceEvidence | null, attempt: number): Assessment {
  if (!face) return chip;
  const { document, enrolled } = face;
  if (!usable(document.reference, true)) return { outcome: 'rejected', reason: REASONS.faceNotUsable };
  if (!usable(document.probe, false)) {
    return attempt >= MAX_ATTEMPTS ? { outcome: 'rejected', reason: REASONS.faceNotUsable } : { outcome: 'retry', reason: REASONS.faceNotUsable };
  }
  if (document.decision !== 'match') return { outcome: 'rejected', reason: REASONS.faceMismatch };
  const verification = { ...chip.verification, faceMatch: faceMatchSummary(document) };
  return { ...chip, verification, ...(enrolled ? { enrolledFace: faceMatchSummary(enrolled) } : {}) };
}

/** A face the descriptor can be trusted on; a chip photo with several faces (a ghost image) uses the largest. */
function usable(quality: FaceQuality, severalAllowed: boolean): boolean {
  return quality.flags.every((flag) => severalAllowed && flag === 'several_faces');
}

/**
 * How an accepted chip was verified. Passive authentication passed (or the verdict would not be accepted); clone
 * detection is named only when the chip proved it: Active Authentication answered the server's challenge, or Chip
 * Authentication verified (the server cannot run CA today, so that never happens yet). A chip without either was not
 * clone-checked: its data could come from a copied dump. The face comparison is added by assessFace.
 */
export function chipVerification(result: VerificationResult): VerificationSummary {
  const { activeAuthentication, chipAuthentication } = result.checks;
  const cloneDetection =
    activeAuthentication.status === 'SUCCEEDED' ? 'active_authentication' : chipAuthentication.status === 'SUCCEEDED' ? 'chip_authentication' : 'not_performed';
  return { document: 'chip', cloneDetection, faceMatch: null, reviewedByAgent: false };
}

/** The document's own attributes from DG1: a renewal may change them, unlike the holder's identity. */
export function documentAttributes(document: DocumentData): DocumentAttributes {
  return {
    documentNumber: document.documentNumber,
    documentType: document.documentCode,
    issuingState: document.issuingState,
    ...(document.dateOfExpiry ? { dateOfExpiry: document.dateOfExpiry } : {}),
  };
}

/** The seed's userData from DG1; null when the MRZ lacks something it requires (an unknown birth date, say). */
export function toUserData(document: DocumentData): UserData | null {
  const parsed = UserDataSchema.safeParse({
    firstName: document.firstName,
    lastName: document.lastName,
    dateOfBirth: document.dateOfBirth,
    gender: document.gender,
    nationality: toIsoCountry(document.nationality),
  });
  return parsed.success ? parsed.data : null;
}

/** The per-check verdicts, kept with the decision: enough to explain it without opening the evidence. */
export function checkSummary(result: VerificationResult, attempt: number) {
  return {
    attempt,
    verdict: result.verdict,
    checks: result.checks,
    dataGroups: result.dataGroups,
    documentExpired: result.documentExpired,
    reasons: result.reasons,
    warnings: result.warnings,
    algorithms: result.algorithms,
    ...(result.csca ? { csca: result.csca } : {}),
  };
}
