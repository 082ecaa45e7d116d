import type { FaceComparison, FaceMatcher, FaceQuality, TemplateResult } from '../faces/types.js';
import type { ReferenceFace } from '../identity/reference-faces.js';

/**
 * What a proofing learnt about the person's face, as every provider records it: comparisons and scores, never the
 * templates. Kept sealed with the user's key in the evidence; the decisions feed the assurance level and a step-up's
 * identity binding.
 */
export interface FaceEvidence {
  /** The document's face (the reference) against the selfie (the probe): is the person the document's holder? */
  document: FaceComparison;
  /** On a step-up whose user has an enrolled reference face: is it the same person as at onboarding? */
  enrolled?: FaceComparison;
}

/** A stored reference was a usable face when it was saved: its quality is not kept, only that it had one. */
const ENROLLED_QUALITY: FaceQuality = { faces: 1, flags: [] };

/**
 * The selfie against the document's face and, when the user has one, the enrolled reference face. Each image's
 * template is computed once, in the face workers (the selfie with its advisory presentation scores), so one selfie
 * against two references costs one extraction. Runs outside any database transaction: a comparison takes about a
 * second, and a busy matcher refuses the call (503) before the caller has stored anything.
 */
export async function compareSelfie(
  faces: FaceMatcher,
  documentFace: Promise<TemplateResult>,
  selfie: Uint8Array,
  enrolled: ReferenceFace | null,
): Promise<{ evidence: FaceEvidence; documentFace: TemplateResult }> {
  const [reference, probe] = await Promise.all([documentFace, faces.template(selfie, { presentation: true })]);
  const document = await faces.compareTemplates(reference, probe);
  if (!enrolled) return { evidence: { document }, documentFace: reference };
  const enrolledComparison = await faces.compareTemplates({ template: enrolled.template, quality: ENROLLED_QUALITY }, probe);
  return { evidence: { document, enrolled: enrolledComparison }, documentFace: reference };
}
