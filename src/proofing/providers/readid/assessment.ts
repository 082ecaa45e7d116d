import { toIsoCountry, type DocumentData, type VerificationResult } from '../../../icao/index.js';
import { UserDataSchema, type UserData } from '../../../identity/user-data.js';
import type { DuplicatePolicy } from './documents.js';

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
} as const;

export type Assessment =
  | { outcome: 'accepted'; userData: UserData; document: DocumentData; duplicate: boolean }
  | { outcome: 'rejected'; reason: string }
  | { outcome: 'retry'; reason: string };

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
  return { outcome: 'accepted', userData, document: result.document, duplicate: boundToOtherUser };
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
