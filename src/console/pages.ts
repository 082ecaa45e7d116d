import type { FastifyReply } from 'fastify';
import type { Prefill } from '../proofing/providers/videoid/capture.js';
import { MAX_CAPTURES, REASONS, type ReviewCase } from '../proofing/providers/videoid/cases.js';
import type { CaseFaces } from '../proofing/providers/videoid/faces.js';
import { type EnrolledView, enrolledSection, evidenceUrl, faceFlag, faceSection } from './face-pages.js';
import { isoTime } from '../shared/runtime.js';
import { html, type Html } from './html.js';
import type { Session } from './sessions.js';

/**
 * The console's pages, rendered on the server. No scripts and no inline styles (the CSP forbids both): plain forms,
 * native controls and one stylesheet, so every action works from the keyboard and with a screen reader.
 */
const CSRF_FIELD = '_csrf';

const csrfInput = (token: string) => html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;
const shortId = (id: string) => id.slice(0, 8);
const clockTime = (ms: number) => html`<time datetime="${isoTime(ms)}">${isoTime(ms).slice(0, 16).replace('T', ' ')} UTC</time>`;

export function layout(title: string, body: Html, session: Session | null, options: { refreshSeconds?: number } = {}): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : ''}
<title>${title} · ReuseID review</title>
<link rel="stylesheet" href="/console/static/console.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="bar">
  <a class="brand" href="/console/queue">ReuseID review</a>
  ${
    session
      ? html`<nav aria-label="Account">
    <a href="/console/queue">Queue</a>
    <span class="who">${session.agent.email}</span>
    <form method="post" action="/console/sign-out" class="inline">${csrfInput(session.csrfToken)}<button type="submit" class="link">Sign out</button></form>
  </nav>`
      : ''
  }
</header>
<main id="main">
${body}
</main>
</body>
</html>`;
}

export function signInPage(csrfToken: string, state: { email?: string; error?: string } = {}): Html {
  return layout(
    'Sign in',
    html`<section class="card narrow">
  <h1>Sign in</h1>
  ${state.error ? html`<p class="alert error" role="alert">${state.error}</p>` : ''}
  <form method="post" action="/console/sign-in" class="stack">
    ${csrfInput(csrfToken)}
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="username" required autofocus value="${state.email ?? ''}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit" class="primary">Sign in</button>
  </form>
</section>`,
    null,
  );
}

const NOTICES: Record<string, string> = {
  approved: 'Case approved: the onboarding is completed.',
  rejected: 'Case rejected: the onboarding has failed.',
  'capture-requested': 'New capture requested: the case returns to the queue when the user sends it.',
  released: 'Case released: another agent can take it.',
};

export interface QueueEntry {
  reviewCase: ReviewCase;
  claimedByEmail: string | null;
}

export function queuePage(session: Session, entries: QueueEntry[], now: number, notice?: string): Html {
  const message = notice ? NOTICES[notice] : undefined;
  return layout(
    'Queue',
    html`<div class="page-head">
  <h1>Review queue</h1>
  <p class="muted">${entries.length === 0 ? 'No cases are waiting.' : `${entries.length} ${entries.length === 1 ? 'case is' : 'cases are'} waiting, oldest first.`} The list refreshes every 30 seconds.</p>
</div>
${message ? html`<p class="alert success" role="status">${message}</p>` : ''}
${
  entries.length
    ? html`<table class="queue">
  <caption class="visually-hidden">Cases waiting for review</caption>
  <thead><tr><th scope="col">Case</th><th scope="col">Received</th><th scope="col">Waiting</th><th scope="col">Document type</th><th scope="col">Capture</th><th scope="col">Face check</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
  <tbody>
  ${entries.map(
    ({ reviewCase: c, claimedByEmail }) => html`<tr>
    <td class="mono">${shortId(c.id)}</td>
    <td>${clockTime(c.createdAt)}</td>
    <td>${Math.max(0, Math.floor((now - c.createdAt) / 60000))} min</td>
    <td>${c.docType}</td>
    <td>${c.attempt} of ${MAX_CAPTURES}</td>
    <td>${faceFlag(c)}</td>
    <td>${claimStatus(c, session, claimedByEmail, now)}</td>
    <td><form method="post" action="/console/cases/${c.id}/claim">${csrfInput(session.csrfToken)}<button type="submit">Open<span class="visually-hidden"> case ${shortId(c.id)}</span></button></form></td>
  </tr>`,
  )}
  </tbody>
</table>`
    : ''
}`,
    session,
    { refreshSeconds: 30 },
  );
}

function claimStatus(c: ReviewCase, session: Session, claimedByEmail: string | null, now: number): Html | string {
  if (!c.claimedBy || (c.claimExpiresAt ?? 0) <= now) return 'Waiting';
  if (c.claimedBy === session.agent.id) return html`<strong>Yours</strong>`;
  return html`With ${claimedByEmail ?? 'another agent'}`;
}

export type FieldName = 'firstName' | 'lastName' | 'dateOfBirth' | 'gender' | 'nationality' | 'documentNumber' | 'dateOfExpiry';
export type FieldValues = Partial<Record<FieldName, string>>;

export interface CaseView {
  reviewCase: ReviewCase;
  now: number;
  /** Set when the viewing agent holds the claim: only then are the images and the decision forms shown. */
  review?: { prefill: Prefill | null; faces: CaseFaces | null; enrolled: EnrolledView | null; values: FieldValues; errors: FieldValues };
  claimedByEmail?: string | null;
}

export function prefillValues(prefill: Prefill | null): FieldValues {
  if (!prefill) return {};
  const { firstName, lastName, dateOfBirth, gender, nationality, documentNumber, dateOfExpiry } = prefill;
  return { firstName, lastName, dateOfBirth: dateOfBirth ?? '', gender, nationality, documentNumber, dateOfExpiry: dateOfExpiry ?? '' };
}

export function casePage(session: Session, view: CaseView): Html {
  const c = view.reviewCase;
  return layout(
    `Case ${shortId(c.id)}`,
    html`<div class="page-head">
  <h1>Case <span class="mono">${shortId(c.id)}</span></h1>
  <p class="muted">Document type ${c.docType} · capture ${c.attempt} of ${MAX_CAPTURES} · received ${clockTime(c.createdAt)}${view.review && c.claimExpiresAt ? html` · your claim ends at ${clockTime(c.claimExpiresAt)}` : ''}</p>
</div>
${view.review ? reviewBody(session, c, view.review) : unclaimedBody(session, c, view)}`,
    session,
  );
}

function unclaimedBody(session: Session, c: ReviewCase, view: CaseView): Html {
  if (c.status !== 'open') return html`<p class="alert">This case has been decided. <a href="/console/queue">Back to the queue</a></p>`;
  const held = c.claimedBy && (c.claimExpiresAt ?? 0) > view.now;
  return html`<div class="card narrow stack">
  <p>${held ? html`This case is being reviewed by ${view.claimedByEmail ?? 'another agent'} until ${clockTime(c.claimExpiresAt!)}.` : 'Nobody is reviewing this case.'}</p>
  ${held ? '' : html`<form method="post" action="/console/cases/${c.id}/claim">${csrfInput(session.csrfToken)}<button type="submit" class="primary">Open case</button></form>`}
  <p><a href="/console/queue">Back to the queue</a></p>
</div>`;
}

function reviewBody(session: Session, c: ReviewCase, review: NonNullable<CaseView['review']>): Html {
  return html`<div class="case">
  <div class="evidence-column">
  ${faceSection(c, review.faces)}
  ${review.enrolled ? enrolledSection(c, review.enrolled, review.faces) : ''}
  ${
    c.evidenceIds.documentBack || c.evidenceIds.video
      ? html`<section class="evidence" aria-label="Other captures">
    ${c.evidenceIds.documentBack ? html`<figure><img src="${evidenceUrl(c, 'documentBack')}" alt="Document back"><figcaption>Document back</figcaption></figure>` : ''}
    ${c.evidenceIds.video ? html`<figure class="wide"><video controls preload="metadata" src="${evidenceUrl(c, 'video')}"></video><figcaption>Video</figcaption></figure>` : ''}
  </section>`
      : ''
  }
  </div>
  <section class="decision" aria-label="Decision">
    ${mrzSummary(review.prefill)}
    ${approveForm(session, c, review)}
    ${declineForm(session, c)}
    <form method="post" action="/console/cases/${c.id}/release" class="inline">${csrfInput(session.csrfToken)}<button type="submit" class="link">Release case and go back to the queue</button></form>
  </section>
</div>`;
}

function mrzSummary(prefill: Prefill | null): Html {
  if (!prefill) return html`<p class="mrz none">No MRZ was read by the app: enter the fields from the document.</p>`;
  return html`<p class="mrz ok">MRZ (${prefill.format}) read by the app, check digits valid. Document code ${prefill.documentCode}, issued by ${prefill.issuingState}. Compare every field with the images.</p>`;
}

const FIELDS: { name: FieldName; label: string; type: 'text' | 'date' | 'gender'; extra?: Html }[] = [
  { name: 'firstName', label: 'First name', type: 'text', extra: html`autocomplete="off" maxlength="100"` },
  { name: 'lastName', label: 'Last name', type: 'text', extra: html`autocomplete="off" maxlength="100"` },
  { name: 'dateOfBirth', label: 'Date of birth', type: 'date' },
  { name: 'gender', label: 'Gender', type: 'gender' },
  { name: 'nationality', label: 'Nationality (ISO alpha-3)', type: 'text', extra: html`autocomplete="off" maxlength="3" pattern="[A-Za-z]{3}"` },
  { name: 'documentNumber', label: 'Document number', type: 'text', extra: html`autocomplete="off" maxlength="20"` },
  { name: 'dateOfExpiry', label: 'Date of expiry', type: 'date' },
];

function approveForm(session: Session, c: ReviewCase, review: NonNullable<CaseView['review']>): Html {
  return html`<form method="post" action="/console/cases/${c.id}/approve" class="fields" novalidate>
  ${csrfInput(session.csrfToken)}
  <fieldset>
    <legend>Verified identity</legend>
    ${FIELDS.map((field, index) => fieldControl(field, review.values[field.name] ?? '', review.errors[field.name], index === 0))}
  </fieldset>
  <button type="submit" class="primary">Approve</button>
</form>`;
}

function fieldControl(field: (typeof FIELDS)[number], value: string, error: string | undefined, first: boolean): Html {
  const id = `field-${field.name}`;
  const described = error ? html` aria-invalid="true" aria-describedby="${id}-error"` : '';
  const control =
    field.type === 'gender'
      ? html`<select id="${id}" name="${field.name}" required${described}>
        ${[
          ['', 'Choose…'],
          ['F', 'F (female)'],
          ['M', 'M (male)'],
          ['X', 'X (unspecified)'],
        ].map(([code, label]) => html`<option value="${code}"${value === code ? html` selected` : ''}>${label}</option>`)}
      </select>`
      : html`<input id="${id}" name="${field.name}" type="${field.type}" value="${value}" required${first ? html` autofocus` : ''} ${field.extra ?? ''}${described}>`;
  return html`<div class="field${error ? ' invalid' : ''}">
    <label for="${id}">${field.label}</label>
    ${control}
    ${error ? html`<p class="field-error" id="${id}-error">${error}</p>` : ''}
  </div>`;
}

function declineForm(session: Session, c: ReviewCase): Html {
  const capturesLeft = MAX_CAPTURES - c.attempt;
  return html`<form method="post" action="/console/cases/${c.id}/reject" class="decline">
  ${csrfInput(session.csrfToken)}
  <div class="field">
    <label for="reason">Reason</label>
    <select id="reason" name="reason" required>
      <option value="">Choose a reason…</option>
      ${Object.entries(REASONS).map(([code, label]) => html`<option value="${code}">${label}</option>`)}
    </select>
  </div>
  <div class="buttons">
    <button type="submit" class="danger">Reject</button>
    ${capturesLeft > 0 ? html`<button type="submit" formaction="/console/cases/${c.id}/request-capture">Request new capture</button>` : ''}
  </div>
  <p class="muted">${capturesLeft > 0 ? `The user can send ${capturesLeft} more ${capturesLeft === 1 ? 'capture' : 'captures'}.` : 'This was the last capture the user may send: approve or reject.'}</p>
</form>`;
}

export function messagePage(session: Session | null, title: string, message: string): Html {
  return layout(
    title,
    html`<section class="card narrow stack">
  <h1>${title}</h1>
  <p>${message}</p>
  <p><a href="${session ? '/console/queue' : '/console/sign-in'}">${session ? 'Back to the queue' : 'Sign in'}</a></p>
</section>`,
    session,
  );
}

export function sendPage(reply: FastifyReply, body: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(body.value);
}
