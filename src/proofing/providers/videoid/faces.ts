import type { FaceComparison } from '../../../faces/types.js';
import type { Transaction } from '../../../flows/transaction.js';
import type { User } from '../../../identity/users.js';
import { compareSelfie, type FaceEvidence } from '../../faces.js';
import type { ProviderServices } from '../../provider.js';
import type { Capture, CaptureRole } from './capture.js';

/**
 * The automated aid to an agent's review: the face on the document front compared with the selfie and, on a step-up
 * whose user has an enrolled reference face, the selfie compared with it. Computed when the capture arrives, before
 * anything is stored: a busy matcher refuses the upload (503, the device retries) rather than opening a case without
 * it. The agent still decides; the results feed the assurance level and the step-up's identity binding.
 */
export type CaseFaces = FaceEvidence;

type FaceServices = Pick<ProviderServices, 'faces' | 'referenceFaces' | 'store'>;

export async function compareCaptureFaces(services: FaceServices, tx: Transaction, user: User, capture: Capture): Promise<CaseFaces> {
  const { faces, referenceFaces, store } = services;
  const reference = tx.kind === 'stepup' ? await referenceFaces.find(store.db, user, faces.model) : null;
  const documentFace = faces.template(imageOf(capture, 'documentFront'));
  return (await compareSelfie(faces, documentFace, imageOf(capture, 'selfie'), reference)).evidence;
}

/** The decisions alone (no scores), kept in clear beside the sealed results so that the queue can flag cases, and audited. */
export function faceDecisions(caseFaces: CaseFaces): { document: FaceComparison['decision']; enrolled: FaceComparison['decision'] | null } {
  return { document: caseFaces.document.decision, enrolled: caseFaces.enrolled?.decision ?? null };
}

function imageOf(capture: Capture, role: CaptureRole): Buffer {
  const item = capture.items.find((candidate) => candidate.role === role);
  // validateCapture guarantees both: the schema requires them and a bad one is refused before this point.
  if (!item || !('content' in item)) throw new Error(`a validated capture has no ${role}`);
  return item.content;
}
