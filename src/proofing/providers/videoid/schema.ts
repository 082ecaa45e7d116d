/** Row type of the review-case table (migrations/003_videoid.ts), merged into the shared Database interface. */
export interface VideoIdCasesTable {
  id: string;
  account_id: string;
  transaction_id: string;
  proofing_id: string;
  attempt: number;
  doc_type: number;
  /** open → accepted | rejected | resubmission */
  status: string;
  prefill_sealed: string | null;
  /** JSON: capture role → evidence id. */
  evidence_ids: string;
  claimed_by: string | null;
  claim_expires_at: number | null;
  decided_by: string | null;
  decision_reason: string | null;
  created_at: number;
  decided_at: number | null;
  /** The automated face comparisons (CaseFaces), sealed with the user's key (007_reference_photo). */
  faces_sealed: string | null;
  /** The decisions alone (match, mismatch, unusable), in clear for the queue's flags. */
  face_decision: string | null;
  enrolled_face_decision: string | null;
}

declare module '../../../store/schema.js' {
  interface Database {
    videoid_cases: VideoIdCasesTable;
  }
}
