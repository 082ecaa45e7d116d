/** Row types of every table, shared by both dialects (see migrations/001_core.ts for the why of each type). */
import type { Generated } from 'kysely';

export interface AccountsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface ApiClientsTable {
  id: string;
  account_id: string;
  name: string;
  secret_hash: string;
  permissions: string;
  token_ttl_seconds: number;
  created_at: number;
  disabled_at: number | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk_sealed: string;
  created_at: number;
  retired_at: number | null;
  /** `access-token` (RP tokens) or `credential` (the credential issuer's keys). */
  purpose: string;
}

export interface UsersTable {
  id: string;
  account_id: string;
  state: string;
  data_key_sealed: string;
  external_ref_sealed: string | null;
  created_at: number;
  updated_at: number;
  /** Keyed hash of the externalRef, for lookup (010_user_lifecycle); null without one, or once erased. */
  external_ref_hash: string | null;
  /** When the user was erased (state ERASED); null for a live user. */
  erased_at: number | null;
}

export interface UserAttributesTable {
  user_id: string;
  name: string;
  value_sealed: string;
  provider: string;
  transaction_id: string;
  proofing_id: string;
  verified_at: number;
}

export interface UserReferenceFacesTable {
  user_id: string;
  model: string;
  template_sealed: string;
  provider: string;
  transaction_id: string;
  proofing_id: string;
  created_at: number;
  /** The photo the template was computed from, sealed like it (007_reference_photo); null when none was kept. */
  photo_sealed: string | null;
  photo_media_type: string | null;
}

export interface DevicesTable {
  id: string;
  account_id: string;
  user_id: string;
  public_jwk: string;
  key_thumbprint: string;
  state: string;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
}

export interface DossiersTable {
  id: string;
  account_id: string;
  user_id: string;
  created_at: number;
}

export interface TransactionsTable {
  id: string;
  account_id: string;
  client_id: string;
  kind: string;
  user_id: string;
  device_id: string | null;
  status: string;
  stage: string;
  provider: string;
  provider_options: string;
  external_ref_sealed: string | null;
  activation_code_hash: string | null;
  activation_code_expires_at: number | null;
  dossier_id: string;
  process_id: string;
  proofing_id: string | null;
  user_data_sealed: string | null;
  failure_reason: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number;
  ended_at: number | null;
  /** low | substantial | high, as the RP asked at Start; null when it did not. */
  minimum_assurance_level: string | null;
  /** Set when the transaction completes: the level reached and the verification summary (JSON) it came from. */
  assurance_level: string | null;
  verification: string | null;
}

export interface DeviceOperationsTable {
  id: string;
  transaction_id: string;
  device_id: string;
  kind: string;
  challenge: string;
  status: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

export interface ProofingsTable {
  id: string;
  transaction_id: string;
  dossier_id: string;
  provider: string;
  status: string;
  decision_sealed: string | null;
  created_at: number;
  decided_at: number | null;
}

export interface EvidenceTable {
  id: string;
  dossier_id: string;
  proofing_id: string;
  kind: string;
  media_type: string;
  content_sealed: string;
  created_at: number;
  /** Set for an item stored in evidence_chunks (its content_sealed is then empty); null for one sealed whole. */
  chunk_count: number | null;
  content_size: number | null;
}

/** The sealed chunks of a large evidence item; `evidence_id` is null while the upload is only staged. */
export interface EvidenceChunksTable {
  upload_id: string;
  idx: number;
  evidence_id: string | null;
  content_sealed: string;
  staged_at: number;
}

export interface DeviceRequestNoncesTable {
  device_id: string;
  jti: string;
  expires_at: number;
}
/** One slot of a sliding-window counter (src/security/counters.ts). */
export interface RateCountersTable {
  counter_key: string;
  /** The slot's start (epoch ms); named for the fixed windows it replaced. */
  window_start: number;
  count: number;
  /** The slot's latest event (epoch ms); 0 for rows written before migration 015. */
  last_at: number;
}

export interface AuditItemsTable {
  cursor: string;
  account_id: string;
  sequence: number;
  timestamp: number;
  event_type: string;
  body: string;
  prev_hash: string;
  hash: string;
}

/** Audit items written but not yet chained (014_audit_sequencer): the body lacks `sequence` until chained. */
export interface AuditPendingTable {
  id: Generated<number>;
  account_id: string;
  timestamp: number;
  body: string;
}

export interface AuditChainHeadsTable {
  account_id: string;
  sequence: number;
  hash: string;
}

export interface OutboxEventsTable {
  id: string;
  account_id: string;
  event_name: string;
  envelope: string;
  created_at: number;
  expires_at: number;
  dispatched_at: number | null;
  /** The user whose personal data the event carries (012_outbox_subject), so that erasing them redacts it. */
  user_id: string | null;
}

export interface Database {
  accounts: AccountsTable;
  api_clients: ApiClientsTable;
  signing_keys: SigningKeysTable;
  users: UsersTable;
  user_attributes: UserAttributesTable;
  user_reference_faces: UserReferenceFacesTable;
  devices: DevicesTable;
  dossiers: DossiersTable;
  transactions: TransactionsTable;
  device_operations: DeviceOperationsTable;
  proofings: ProofingsTable;
  evidence: EvidenceTable;
  evidence_chunks: EvidenceChunksTable;
  device_request_nonces: DeviceRequestNoncesTable;
  rate_counters: RateCountersTable;
  audit_items: AuditItemsTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_pending: AuditPendingTable;
  outbox_events: OutboxEventsTable;
  credential_offers: CredentialOffersTable;
  credential_status_lists: CredentialStatusListsTable;
  credentials: CredentialsTable;
}

export interface CredentialOffersTable {
  id: string;
  account_id: string;
  user_id: string;
  client_id: string;
  code_hash: string;
  tx_code_hash: string;
  tx_code_attempts: number;
  expires_at: number;
  redeemed_at: number | null;
  access_token_hash: string | null;
  access_expires_at: number | null;
  credential_issued_at: number | null;
  created_at: number;
}

export interface CredentialStatusListsTable {
  id: string;
  size: number;
  created_at: number;
}

export interface CredentialsTable {
  id: string;
  account_id: string;
  user_id: string;
  offer_id: string;
  configuration_id: string;
  status_list_id: string;
  status_index: number;
  holder_key_thumbprint: string;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  revocation_reason: string | null;
}
