// biome-ignore format: a table, one code a line, kept whole however long its description
/**
 * The catalogue of failure reasons: every code a transaction can end with as `failureReason` (Get onboarding / Get
 * step-up, the `<kind>.failed` and `<kind>.expired` events, the device's view), with who sets it and when. The flow
 * owns it because the reason is part of the transaction's end state; providers and the server's own checks only pick
 * a code from it. `FailureReason` is the union of its codes, so an uncatalogued reason does not compile, and the
 * "Failure reasons" section of docs/errors.md is generated from it (`npx tsx scripts/errors-doc.ts --write`).
 */
export const FAILURE_REASONS = {
  expired: { by: 'server', description: "The transaction's time ran out before it ended (status `Expired`)." },
  device_rejected: { by: 'device', description: 'The user declined the step-up on their registered device.' },
  identity_mismatch: { by: 'server', description: 'The step-up proved another person than the enrolled one: a document attribute or the face differs from the verified identity.' },
  assurance_level_not_met: { by: 'server', description: 'The proofing succeeded but reached less than the `minimumAssuranceLevel` the RP asked for.' },
  user_erased: { by: 'server', description: 'The user was erased (crypto-shredded) while the transaction was open.' },
  chip_verification_failed: { by: 'readid', description: "Passive authentication of the chip's data failed: a hash, the SOD signature or the certificate chain does not verify." },
  chip_clone_detection_failed: { by: 'readid', description: 'The chip did not prove it is genuine (active or chip authentication) in the allowed attempts.' },
  document_data_incomplete: { by: 'readid', description: "The chip's data lacks a field the identity needs (name, date of birth, nationality)." },
  document_bound_to_other_user: { by: 'readid', description: 'The document already belongs to another user of the account and the account refuses duplicates.' },
  too_many_failed_uploads: { by: 'readid', description: 'Too many uploads of the transaction were refused as unreadable or invalid.' },
  face_mismatch: { by: 'readid, signicatvideoid', description: "The person's face does not match the document's photo." },
  face_not_usable: { by: 'readid', description: 'No usable face in the selfie after the allowed attempts, or in the document photo.' },
  document_expired: { by: 'readid, signicatvideoid', description: 'The document has expired.' },
  document_unreadable: { by: 'signicatvideoid', description: 'The agent could not read the document (blur, glare, cropped).' },
  document_not_allowed: { by: 'signicatvideoid', description: 'The document type is not accepted for this transaction.' },
  liveness_failed: { by: 'signicatvideoid', description: 'The capture did not show a live person.' },
  suspected_fraud: { by: 'signicatvideoid', description: 'The agent suspects fraud or tampering.' },
  other: { by: 'signicatvideoid', description: 'The agent rejected the capture for a reason not listed.' },
  sandbox_rejected: { by: 'sandbox', description: 'The device asked the sandbox provider for a rejection (sandbox mode only).' },
} as const satisfies Record<string, { by: string; description: string }>;

export type FailureReason = keyof typeof FAILURE_REASONS;

/** The codes as a non-empty tuple, for zod enums. */
export const FAILURE_REASON_CODES = Object.keys(FAILURE_REASONS) as [FailureReason, ...FailureReason[]];

export const isFailureReason = (value: string): value is FailureReason => Object.hasOwn(FAILURE_REASONS, value);
