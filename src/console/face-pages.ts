import type { FaceComparison, FaceQualityFlag, PresentationScores } from '../faces/types.js';
import type { IDENTITY_ATTRIBUTES } from '../identity/binding.js';
import type { ReviewCase } from '../proofing/providers/videoid/cases.js';
import type { CaseFaces } from '../proofing/providers/videoid/faces.js';
import { html, type Html } from './html.js';

/**
 * The faces of a case as the agent sees them: the document and the selfie side by side with the automated comparison
 * (score, threshold, decision, and why no comparison was possible), and on a step-up the enrolled person. Every
 * result is labelled as an aid: the agent decides whether the selfie shows the document's holder.
 */

/** On a step-up: the identity onboarding established and whether its reference face has a photo to show. */
export interface EnrolledView {
  /** The user's verified attributes by name. */
  attributes: Record<string, string>;
  /** How and when the identity was enrolled (provider, date); null when the user has no verified identity. */
  enrolledBy: { provider: string; verifiedAt: string } | null;
  hasPhoto: boolean;
}

/** The enrolled identity and the document it was last proved with, as the agent compares them. */
const ENROLLED_FIELDS: [(typeof IDENTITY_ATTRIBUTES)[number] | 'documentNumber' | 'dateOfExpiry', string][] = [
  ['firstName', 'First name'],
  ['lastName', 'Last name'],
  ['dateOfBirth', 'Date of birth'],
  ['gender', 'Gender'],
  ['nationality', 'Nationality'],
  ['documentNumber', 'Document number'],
  ['dateOfExpiry', 'Date of expiry'],
];

const DECISIONS: Record<FaceComparison['decision'], string> = {
  match: 'Match',
  mismatch: 'Mismatch',
  unusable: 'No comparison possible',
};

const QUALITY: Record<FaceQualityFlag, string> = {
  no_face: 'no face found',
  several_faces: 'several faces (the largest was used)',
  face_too_small: 'face too small',
  unreadable_image: 'image unreadable',
};

export function evidenceUrl(c: ReviewCase, role: string): string {
  return `/console/cases/${c.id}/evidence/${role}`;
}

/** Document front and selfie side by side, with the automated comparison of their faces. */
export function faceSection(c: ReviewCase, faces: CaseFaces | null): Html {
  return html`<section class="faces" aria-labelledby="faces-title">
  <h2 id="faces-title">Document and selfie</h2>
  <div class="pair">
    ${figure(evidenceUrl(c, 'documentFront'), 'Document front')}
    ${figure(evidenceUrl(c, 'selfie'), 'Selfie')}
  </div>
  ${faces ? comparison('Document photo and selfie', faces.document, 'document photo') : html`<p class="muted">No automated face comparison was made for this capture: compare the faces by eye.</p>`}
  <p class="aid">Automated aid only: the score helps you compare. You decide whether the selfie shows the document's holder.</p>
</section>`;
}

/** On a step-up: the enrolled identity and face, and the selfie compared with that face. */
export function enrolledSection(c: ReviewCase, enrolled: EnrolledView, faces: CaseFaces | null): Html {
  return html`<section class="enrolled" aria-labelledby="enrolled-title">
  <h2 id="enrolled-title">Enrolled person (step-up)</h2>
  <p>This is a step-up: the document and the selfie must show the person enrolled at onboarding. If the selfie does not match the enrolled face (score below the threshold) or the identity differs, approving ends the step-up as <code>identity_mismatch</code> and the enrolled identity stays as it is.</p>
  <div class="pair">
    ${enrolled.hasPhoto ? figure(`/console/cases/${c.id}/enrolled-face`, 'Enrolled face') : html`<p class="muted">No photo of the enrolled face was kept.</p>`}
    ${figure(evidenceUrl(c, 'selfie'), 'Selfie')}
  </div>
  ${faces?.enrolled ? comparison('Enrolled face and selfie', faces.enrolled, 'enrolled face') : html`<p class="muted">The user has no enrolled reference face to compare with.</p>`}
  <dl class="identity">
    ${ENROLLED_FIELDS.map(([name, label]) => html`<dt>${label}</dt><dd>${enrolled.attributes[name] ?? '—'}</dd>`)}
  </dl>
  ${enrolled.enrolledBy ? html`<p class="muted">Enrolled through ${enrolled.enrolledBy.provider} on ${enrolled.enrolledBy.verifiedAt.slice(0, 10)}.</p>` : html`<p class="alert">This user has no enrolled identity.</p>`}
</section>`;
}

/** What the queue says of a case's faces: a flag when a comparison is a mismatch or was not possible. */
export function faceFlag(c: ReviewCase): Html | string {
  const flags = [
    c.faceDecision && c.faceDecision !== 'match' ? `Face ${c.faceDecision === 'mismatch' ? 'mismatch' : 'unusable'}` : null,
    c.enrolledFaceDecision && c.enrolledFaceDecision !== 'match' ? `Enrolled face ${c.enrolledFaceDecision === 'mismatch' ? 'mismatch' : 'unusable'}` : null,
  ].filter((flag): flag is string => flag !== null);
  if (flags.length) return html`${flags.map((flag) => html`<strong class="flag">${flag}</strong> `)}`;
  return c.faceDecision ? 'Match' : '—';
}

function figure(src: string, caption: string): Html {
  return html`<figure>
      <img src="${src}" alt="${caption}">
      <figcaption>${caption}</figcaption>
    </figure>`;
}

function comparison(title: string, result: FaceComparison, referenceName: string): Html {
  const flagged = result.decision !== 'match';
  return html`<dl class="score${flagged ? ' flagged' : ''}" aria-label="${title}: automated comparison">
    <div><dt>Score</dt><dd class="mono">${result.score === undefined ? '—' : result.score.toFixed(4)}</dd></div>
    <div><dt>Threshold</dt><dd class="mono">${result.threshold}</dd></div>
    <div><dt>Decision</dt><dd><strong>${DECISIONS[result.decision]}</strong></dd></div>
    ${
      result.decision === 'unusable'
        ? html`<div class="wide"><dt>Why</dt><dd>${qualityText(referenceName, result.reference.flags)}${qualityText('selfie', result.probe.flags)}</dd></div>`
        : ''
    }
    ${presentationRow(result.probe.presentation)}
  </dl>`;
}

/**
 * The selfie's advisory presentation-attack scores (0 to 1, higher: more likely a live person rather than a photo,
 * screen or mask). Shown so that the agent looks harder at a low one; the model is not certified PAD and decides nothing.
 */
function presentationRow(scores: PresentationScores | undefined): Html | string {
  if (!scores) return '';
  return html`<div class="wide"><dt>Selfie liveness (advisory)</dt><dd><span class="mono">antispoof ${scores.antispoof.toFixed(2)}, liveness ${scores.liveness.toFixed(2)}</span> <span class="muted">(0 to 1, higher is more likely a live person; an aid, not a decision)</span></dd></div>`;
}

function qualityText(side: string, flags: readonly FaceQualityFlag[]): Html | string {
  return flags.length ? html`<span class="quality">${side}: ${flags.map((flag) => QUALITY[flag]).join(', ')}. </span>` : '';
}
