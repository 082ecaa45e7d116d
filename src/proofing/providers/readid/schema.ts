/** Row types of the ReadID tables (migrations/005_readid.ts, 009_readid_refused_uploads.ts), merged into the shared Database interface. */
export interface ReadIdChallengesTable {
  id: string;
  transaction_id: string;
  /** The 8 challenge bytes as hex: not a secret (the device relays it to the chip), only single-use. */
  challenge: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface ReadIdAttemptsTable {
  transaction_id: string;
  attempt: number;
  /** accepted | inconclusive | rejected, as verifyDocument said. */
  verdict: string;
  /** The reason code the attempt ended with (null when accepted). */
  reason: string | null;
  challenge_id: string | null;
  created_at: number;
}

export interface ReadIdRefusedUploadsTable {
  transaction_id: string;
  count: number;
}

export interface ReadIdDocumentsTable {
  account_id: string;
  /** Keyed hash of issuing state, document code and number: the document number itself is never stored. */
  document_hash: string;
  user_id: string;
  transaction_id: string;
  created_at: number;
}

declare module '../../../store/schema.js' {
  interface Database {
    readid_challenges: ReadIdChallengesTable;
    readid_attempts: ReadIdAttemptsTable;
    readid_documents: ReadIdDocumentsTable;
    readid_refused_uploads: ReadIdRefusedUploadsTable;
  }
}
