import type { FaceComparison, FaceQuality, TemplateResult } from '../../../faces/types.js';
import type { Transaction } from '../../../flows/transaction.js';
import type { User } from '../../../identity/users.js';
import type { ProviderServices } from '../../provider.js';
import type { Capture, CaptureRole } from './capture.js';

/**
 * The automated aid to an agent's review: the face on the document front compared with the selfie and, on a step-up
 * whose user has an enrolled reference face, the selfie compared with it. Computed when the capture arrives, before
 * anything is stored and outside any database transaction (a comparison takes about a second): a busy matcher refuses
 * the upload (503, the device retries) rather than opening a case without it. Only the results are kept, never the
 * templates. The agent still decides; the results feed the assurance level and the step-up's identity binding.
 */
export interface CaseFaces {
  /** The document front's face (reference) against the selfie (probe). */
  document: FaceComparison;
  /** The enrolled reference face against the selfie; absent on onboarding and when the user has no reference. */
  enrolled?: FaceComparison;
}

type FaceServices = Pick<ProviderServices, 'faces' | 'referenceFaces' | 'store'>;

/** A stored reference was a usable face when it was saved: its quality is not kept, only that it had one. */
const ENROLLED_QUALITY: FaceQuality = { faces: 1, flags: [] };

export async function compareCaptureFaces(services: FaceServices, tx: Transaction, user: User, capture: Capture): Promise<CaseFaces> {
  const { faces, referenceFaces, store } = services;
  const reference = tx.kind === 'stepup' ? await referenceFaces.find(store.db, user, faces.model) : null;
  // Each image's template once: the selfie is compared with two references for the cost of one extraction.
  const [documentFace, selfie] = await Promise.all([
    faces.template(imageOf(capture, 'documentFront')),
    faces.template(imageOf(capture, 'selfie'), { presentation: true }),
  ]);
  const document = await faces.compareTemplates(documentFace, selfie);
  if (!reference) return { document };
  const enrolled = await faces.compareTemplates({ template: reference.template, quality: ENROLLED_QUALITY } satisfies TemplateResult, selfie);
  return { document, enrolled };
}

/** The decisions alone (no scores), kept in clear beside the sealed results so that the queue can flag cases, and audited. */
export function faceDecisions(caseFaces: CaseFaces): { document: FaceComparison['decision']; enrolled: FaceComparison['decision'] | null } {
  return { document: caseFaces.document.decision, enrolled: caseFaces.enrolled?.decision ?? null };
}

function imageOf(capture: Capture, role: CaptureRole): Buffer {
  const item = capture.items.find((candidate) => candidate.role === role);
  // validateCapture guarantees both: the schema requires them and a bad one is refused before this point.
  if (!item) throw new Error(`a validated capture has no ${role}`);
  return item.content;
}
