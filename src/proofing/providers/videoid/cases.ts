import type { FailureReason } from '../../../flows/failure-reasons.js';
import { z } from 'zod';
import { apiError, errors } from '../../../shared/errors.js';
import type { RequestMeta } from '../../../http/request-meta.js';
import { findTransaction, type Transaction } from '../../../flows/transaction.js';
import { UserDataSchema } from '../../../identity/user-data.js';
import type { EvidenceItem } from '../../../dossier/evidence.js';
import type { FaceComparison, FaceTemplate } from '../../../faces/types.js';
import type { ReferencePhoto } from '../../../identity/reference-faces.js';
import type { User } from '../../../identity/users.js';
import type { Executor, Tx } from '../../../store/database.js';
import { faceMatchSummary, type VerificationSummary } from '../../assurance.js';
import type { ProviderServices } from '../../provider.js';
import type { Capture, CaptureRole, Prefill } from './capture.js';
import { type CaseFaces, compareCaptureFaces, faceDecisions } from './faces.js';
import type { VideoIdCasesTable } from './schema.js';

/**
 * The review queue: one case per capture, reviewed by one agent at a time. An agent claims a case (the claim lapses
 * after CLAIM_MS, so a case never stays stuck with an agent who walked away) and decides it: accepted and rejected
 * end the flow through ProofingService.decide in the same database transaction as the case update; a resubmission
 * sends the transaction back to the proofing stage, at most MAX_CAPTURES captures in all.
 */
export const PROVIDER_ID = 'signicatvideoid';
export const MAX_CAPTURES = 3;
export const CLAIM_MS = 10 * 60 * 1000;

/** Reason codes for rejections and resubmission requests; the code reaches the RP as `failureReason`. */
export const REASONS = {
  document_unreadable: 'Document unreadable (blur, glare, cropped)',
  document_expired: 'Document expired',
  face_mismatch: 'Selfie does not match the document photo',
  liveness_failed: 'Liveness not shown',
  document_not_allowed: 'Document type not accepted',
  suspected_fraud: 'Suspected fraud or tampering',
  other: 'Other',
} as const satisfies Partial<Record<FailureReason, string>>;
export type Reason = keyof typeof REASONS;

/**
 * A document read from images and approved by an agent, who compared the face with the automated comparison's help
 * (null for a case opened before comparisons were made: the agent compared by eye alone).
 */
const agentReviewed = (faces: CaseFaces | null): VerificationSummary => ({
  document: 'image',
  cloneDetection: 'not_performed',
  faceMatch: faces ? faceMatchSummary(faces.document) : null,
  reviewedByAgent: true,
});
export const ReasonSchema = z.enum(Object.keys(REASONS) as [Reason, ...Reason[]]);

/** What an agent confirms when approving: the seed's userData plus the document's number and expiry. */
export const VerifiedFieldsSchema = UserDataSchema.extend({
  documentNumber: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z0-9]{1,20}$/, 'must be 1–20 letters or digits'),
  dateOfExpiry: UserDataSchema.shape.dateOfBirth,
});
export type VerifiedFields = z.infer<typeof VerifiedFieldsSchema>;

export type CaseStatus = 'open' | 'accepted' | 'rejected' | 'resubmission';

export interface ReviewCase {
  id: string;
  accountId: string;
  transactionId: string;
  proofingId: string;
  attempt: number;
  docType: number;
  status: CaseStatus;
  evidenceIds: Partial<Record<CaptureRole, string>>;
  claimedBy: string | null;
  claimExpiresAt: number | null;
  decisionReason: string | null;
  createdAt: number;
  /** The automated comparisons' decisions (the results themselves are sealed): null before comparisons were made. */
  faceDecision: FaceComparison['decision'] | null;
  enrolledFaceDecision: FaceComparison['decision'] | null;
}

/** Whose cases an agent reviews: every account's (an operator's own review team), or only the listed accounts'. */
export type AccountScope = 'all' | readonly string[];

/**
 * The agent acting on cases. Every agent-facing method takes one, and every case it reaches goes through find(),
 * which treats a case outside the agent's accounts as absent: the agent learns nothing, not even that it exists.
 */
export interface Reviewer {
  id: string;
  accounts: AccountScope;
}

const reviews = (reviewer: Reviewer, accountId: string): boolean => reviewer.accounts === 'all' || reviewer.accounts.includes(accountId);

/** Who a case is about, opened for the agent holding its claim. */
export interface CaseSubject {
  tx: Transaction;
  user: User;
}

export class ReviewCases {
  constructor(private readonly ctx: ProviderServices) {}

  /**
   * Records a capture: the faces compared first (outside the database transaction; a busy matcher refuses the upload
   * before anything is stored), then evidence sealed into the dossier, a case opened with the comparison's results,
   * the transaction moved to review.
   */
  async open(tx: Transaction, capture: Capture, meta: RequestMeta): Promise<Transaction> {
    const { store, clock, random, users, evidence } = this.ctx;
    // Checked again by the transition below; here so that a capture nobody waits for costs no comparison.
    if (tx.status !== 'Pending' || tx.stage !== 'proofing' || !tx.proofingId) throw captureNotExpected();
    const caseFaces = await compareCaptureFaces(this.ctx, tx, await this.requireUser(store.db, tx), capture);
    return store.write(async (trx) => {
      const now = clock.now();
      const id = random.uuid();
      const attempt = (await this.countCases(trx, tx.id)) + 1;
      const proofingId = tx.proofingId;
      const audit = {
        eventType: 'videoid.capture.received',
        message: 'VideoID capture received for review',
        // The comparisons' decisions only: scores say how a person's face scored, and stay sealed with the case.
        data: { caseId: id, attempt, docType: capture.docType, mrz: capture.prefill !== null, faces: faceDecisions(caseFaces) },
      };
      const inReview = proofingId ? await this.ctx.flows.transition(trx, tx, 'submitForReview', { audit }, meta) : null;
      if (!proofingId || !inReview) throw captureNotExpected();
      const cipher = users.cipher(await this.requireUser(trx, tx));
      const evidenceIds: ReviewCase['evidenceIds'] = {};
      const where = { dossierId: tx.dossierId, proofingId };
      for (const item of capture.items) {
        const described = { kind: `videoid.${item.role}`, mediaType: item.mediaType };
        if ('content' in item) evidenceIds[item.role] = await evidence.store(trx, cipher, where, { ...described, content: item.content });
        // Staged as it streamed in; none when the parser found no capture expected (the transaction moved since).
        else if (item.staged) evidenceIds[item.role] = await evidence.storeStaged(trx, where, described, item.staged);
        else throw captureNotExpected();
      }
      await evidence.store(trx, cipher, where, { kind: 'videoid.faceMatch', mediaType: 'application/json', content: Buffer.from(JSON.stringify(caseFaces)) });
      await trx
        .insertInto('videoid_cases')
        .values({
          id,
          account_id: tx.accountId,
          transaction_id: tx.id,
          proofing_id: proofingId,
          attempt,
          doc_type: capture.docType,
          status: 'open',
          prefill_sealed: capture.prefill ? cipher.sealJson(capture.prefill, prefillContext(id)) : null,
          evidence_ids: JSON.stringify(evidenceIds),
          claimed_by: null,
          claim_expires_at: null,
          decided_by: null,
          decision_reason: null,
          created_at: now,
          decided_at: null,
          faces_sealed: cipher.sealJson(caseFaces, facesContext(id)),
          face_decision: caseFaces.document.decision,
          enrolled_face_decision: caseFaces.enrolled?.decision ?? null,
        })
        .execute();
      return inReview;
    });
  }

  /** Open cases of the reviewer's accounts whose transaction still waits for review, oldest first. */
  async queue(reviewer: Reviewer, limit = 200): Promise<ReviewCase[]> {
    const { accounts } = reviewer;
    if (accounts !== 'all' && !accounts.length) return [];
    const rows = await this.ctx.store.db
      .selectFrom('videoid_cases as c')
      .innerJoin('transactions as t', 't.id', 'c.transaction_id')
      .selectAll('c')
      .where('c.status', '=', 'open')
      .where('t.status', '=', 'Pending')
      .where('t.stage', '=', 'review')
      .where('t.expires_at', '>', this.ctx.clock.now())
      .$if(accounts !== 'all', (query) => query.where('c.account_id', 'in', accounts as readonly string[]))
      .orderBy('c.created_at')
      .limit(limit)
      .execute();
    return rows.map(toCase);
  }

  /** The one lookup of a case for an agent: null when there is none, or when it belongs to another account. */
  async find(caseId: string, reviewer: Reviewer): Promise<ReviewCase | null> {
    if (caseId.length > 100) return null;
    const row = await this.ctx.store.db.selectFrom('videoid_cases').selectAll().where('id', '=', caseId).executeTakeFirst();
    return row && reviews(reviewer, row.account_id) ? toCase(row) : null;
  }

  /** find(), or case_not_found (404, as for a case that does not exist). */
  async require(caseId: string, reviewer: Reviewer): Promise<ReviewCase> {
    const reviewCase = await this.find(caseId, reviewer);
    if (!reviewCase) throw apiError('case_not_found', 'There is no such case.');
    return reviewCase;
  }

  /** The latest case of a transaction: what the device is told about its previous capture. */
  async latest(transactionId: string): Promise<ReviewCase | null> {
    const row = await this.ctx.store.db
      .selectFrom('videoid_cases')
      .selectAll()
      .where('transaction_id', '=', transactionId)
      .orderBy('attempt', 'desc')
      .executeTakeFirst();
    return row ? toCase(row) : null;
  }

  /** Takes (or renews) the claim on an open case; refused while another agent's claim is live. */
  async claim(caseId: string, reviewer: Reviewer, meta: RequestMeta): Promise<ReviewCase> {
    const { store, clock, audit } = this.ctx;
    // A case's account never changes: checked once, before the claim.
    await this.require(caseId, reviewer);
    const agentId = reviewer.id;
    return store.write(async (trx) => {
      const now = clock.now();
      const claimed = await trx
        .updateTable('videoid_cases')
        .set({ claimed_by: agentId, claim_expires_at: now + CLAIM_MS })
        .where('id', '=', caseId)
        .where('status', '=', 'open')
        .where((eb) => eb.or([eb('claimed_by', 'is', null), eb('claimed_by', '=', agentId), eb('claim_expires_at', '<=', now)]))
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw caseNotAvailable();
      const reviewCase = toCase(await trx.selectFrom('videoid_cases').selectAll().where('id', '=', caseId).executeTakeFirstOrThrow());
      await audit.append(trx, caseAudit(reviewCase, 'videoid.case.claimed', 'Review case claimed', agentId, meta));
      return reviewCase;
    });
  }

  async release(caseId: string, reviewer: Reviewer): Promise<void> {
    await this.require(caseId, reviewer);
    await this.ctx.store.db
      .updateTable('videoid_cases')
      .set({ claimed_by: null, claim_expires_at: null })
      .where('id', '=', caseId)
      .where('status', '=', 'open')
      .where('claimed_by', '=', reviewer.id)
      .execute();
  }

  /**
   * Accepts the case with the fields the agent verified. The decision carries the automated face comparisons (the
   * document's for the assurance level, the enrolled face's for a step-up's identity binding). An approved onboarding
   * enrols the selfie as the user's reference face, with the selfie as its photo: the agent confirmed that it shows
   * the document's holder. Its template is computed again here, outside the database transaction, since cases keep
   * no templates.
   */
  async approve(caseId: string, reviewer: Reviewer, fields: VerifiedFields, meta: RequestMeta): Promise<Transaction> {
    const reviewCase = await this.require(caseId, reviewer);
    const agentId = reviewer.id;
    const { documentNumber, dateOfExpiry, ...userData } = fields;
    if (dateOfExpiry < new Date(this.ctx.clock.now()).toISOString().slice(0, 10)) {
      throw errors.invalidParameters([{ name: 'dateOfExpiry', reason: 'the document has expired: reject it as document_expired' }]);
    }
    const subject = await this.subject(reviewCase);
    const caseFaces = await this.faces(reviewCase, subject.user);
    const reference = subject.tx.kind === 'onboarding' ? await this.selfieReference(reviewCase, reviewer) : null;
    const details = { caseId, attempt: reviewCase.attempt, docType: reviewCase.docType, documentNumber, dateOfExpiry, agentId };
    return this.ctx.proofing.decide(
      subject.tx,
      PROVIDER_ID,
      {
        outcome: 'accepted',
        userData,
        document: { documentNumber, dateOfExpiry, documentType: String(reviewCase.docType) },
        verification: agentReviewed(caseFaces),
        ...(caseFaces?.enrolled ? { enrolledFace: faceMatchSummary(caseFaces.enrolled) } : {}),
        evidence: [],
        details,
      },
      { ...meta, agentId },
      async (trx, tx, outcome) => {
        await this.close(trx, reviewCase, agentId, 'accepted', null);
        if (outcome !== 'accepted' || !reference || !tx.proofingId) return;
        const provenance = { provider: PROVIDER_ID, transactionId: tx.id, proofingId: tx.proofingId, verifiedAt: this.ctx.clock.now() };
        await this.ctx.referenceFaces.save(trx, subject.user, reference.template, provenance, reference.photo);
      },
    );
  }

  async reject(caseId: string, reviewer: Reviewer, reason: Reason, meta: RequestMeta): Promise<Transaction> {
    return this.rejectCase(await this.require(caseId, reviewer), reviewer.id, reason, meta);
  }

  /** Asks the device for a new capture; once the user has used up MAX_CAPTURES the case is rejected instead. */
  async requestCapture(caseId: string, reviewer: Reviewer, reason: Reason, meta: RequestMeta): Promise<Transaction> {
    const reviewCase = await this.require(caseId, reviewer);
    const agentId = reviewer.id;
    if (reviewCase.attempt >= MAX_CAPTURES) return this.rejectCase(reviewCase, agentId, reason, meta);
    return this.ctx.store.write(async (trx) => {
      await this.close(trx, reviewCase, agentId, 'resubmission', reason);
      const tx = await this.transactionOf(trx, reviewCase);
      const audit = {
        eventType: 'videoid.capture.requested',
        message: 'New capture requested',
        data: { caseId, attempt: reviewCase.attempt, reason, agentId },
      };
      const back = await this.ctx.flows.transition(trx, tx, 'requestCapture', { audit }, meta);
      if (!back) throw caseNotAvailable();
      return back;
    });
  }

  /** The MRZ pre-fill of a case, opened with the user's key. */
  async prefill(reviewCase: ReviewCase): Promise<Prefill | null> {
    const row = await this.ctx.store.db.selectFrom('videoid_cases').select('prefill_sealed').where('id', '=', reviewCase.id).executeTakeFirst();
    if (!row?.prefill_sealed) return null;
    const { user } = await this.subject(reviewCase);
    return this.ctx.users.cipher(user).openJson<Prefill>(row.prefill_sealed, prefillContext(reviewCase.id));
  }

  /** The automated face comparisons of a case, opened with the user's key; null for a case opened without them. */
  async faces(reviewCase: ReviewCase, user: User): Promise<CaseFaces | null> {
    const row = await this.ctx.store.db.selectFrom('videoid_cases').select('faces_sealed').where('id', '=', reviewCase.id).executeTakeFirst();
    if (!row?.faces_sealed) return null;
    return this.ctx.users.cipher(user).openJson<CaseFaces>(row.faces_sealed, facesContext(reviewCase.id));
  }

  /** One captured item of a case, for the agent who holds a live claim on it (nobody else sees the images). */
  async evidence(caseId: string, reviewer: Reviewer, role: CaptureRole): Promise<EvidenceItem | null> {
    const claimed = await this.claimed(caseId, reviewer);
    const id = claimed?.reviewCase.evidenceIds[role];
    if (!claimed || !id) return null;
    const { tx, user } = claimed.subject;
    return this.ctx.evidence.find(this.ctx.store.db, this.ctx.users.cipher(user), { dossierId: tx.dossierId, id });
  }

  /** On a step-up, the photo of the user's enrolled reference face, for the agent holding the claim; otherwise null. */
  async enrolledPhoto(caseId: string, reviewer: Reviewer): Promise<ReferencePhoto | null> {
    const claimed = await this.claimed(caseId, reviewer);
    if (claimed?.subject.tx.kind !== 'stepup') return null;
    const reference = await this.ctx.referenceFaces.find(this.ctx.store.db, claimed.subject.user, this.ctx.faces.model);
    return reference?.photo ?? null;
  }

  /** The transaction and user a case is about. */
  async subject(reviewCase: ReviewCase): Promise<CaseSubject> {
    const tx = await this.transactionOf(this.ctx.store.db, reviewCase);
    return { tx, user: await this.requireUser(this.ctx.store.db, tx) };
  }

  private async rejectCase(reviewCase: ReviewCase, agentId: string, reason: Reason, meta: RequestMeta): Promise<Transaction> {
    const details = { caseId: reviewCase.id, attempt: reviewCase.attempt, docType: reviewCase.docType, agentId };
    return this.ctx.proofing.decide(
      await this.transactionOf(this.ctx.store.db, reviewCase),
      PROVIDER_ID,
      { outcome: 'rejected', reason, evidence: [], details },
      { ...meta, agentId },
      (trx) => this.close(trx, reviewCase, agentId, 'rejected', reason),
    );
  }

  /** Records the decision on the case, only for the agent holding a live claim: the guard against two deciders. */
  private async close(trx: Tx, reviewCase: ReviewCase, agentId: string, status: Exclude<CaseStatus, 'open'>, reason: string | null): Promise<void> {
    const now = this.ctx.clock.now();
    const closed = await trx
      .updateTable('videoid_cases')
      .set({ status, decided_by: agentId, decided_at: now, decision_reason: reason })
      .where('id', '=', reviewCase.id)
      .where('status', '=', 'open')
      .where('claimed_by', '=', agentId)
      .where('claim_expires_at', '>', now)
      .executeTakeFirst();
    if (Number(closed.numUpdatedRows) !== 1) throw caseNotAvailable();
  }

  private async transactionOf(executor: Executor, reviewCase: ReviewCase): Promise<Transaction> {
    const tx = await findTransaction(executor, reviewCase.transactionId);
    if (!tx) throw errors.transactionNotFound(reviewCase.transactionId);
    return tx;
  }

  private async requireUser(executor: Executor, tx: Transaction): Promise<User> {
    const user = await this.ctx.users.find(executor, tx.accountId, tx.userId);
    if (!user) throw errors.transactionNotFound(tx.id);
    return user;
  }

  /**
   * The case and its subject when the agent holds a live claim on it: nobody else sees what it holds. Looked up
   * in the agent's accounts even so: a claim taken before the agent lost that account shows nothing more.
   */
  private async claimed(caseId: string, reviewer: Reviewer): Promise<{ reviewCase: ReviewCase; subject: CaseSubject } | null> {
    const reviewCase = await this.find(caseId, reviewer);
    if (!reviewCase || !holdsClaim(reviewCase, reviewer.id, this.ctx.clock.now())) return null;
    return { reviewCase, subject: await this.subject(reviewCase) };
  }

  /** The approved selfie as a reference face (template and photo), or null when it shows no usable face. */
  private async selfieReference(reviewCase: ReviewCase, reviewer: Reviewer): Promise<{ template: FaceTemplate; photo: ReferencePhoto } | null> {
    const selfie = await this.evidence(reviewCase.id, reviewer, 'selfie');
    if (!selfie) return null;
    const { template } = await this.ctx.faces.template(selfie.content);
    return template ? { template, photo: { mediaType: selfie.mediaType, content: selfie.content } } : null;
  }

  private async countCases(executor: Executor, transactionId: string): Promise<number> {
    const row = await executor
      .selectFrom('videoid_cases')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('transaction_id', '=', transactionId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

export const holdsClaim = (reviewCase: ReviewCase, agentId: string, now: number) =>
  reviewCase.status === 'open' && reviewCase.claimedBy === agentId && (reviewCase.claimExpiresAt ?? 0) > now;

const prefillContext = (caseId: string) => `videoid-case:${caseId}:prefill`;
const facesContext = (caseId: string) => `videoid-case:${caseId}:faces`;

function toCase(row: VideoIdCasesTable): ReviewCase {
  return {
    id: row.id,
    accountId: row.account_id,
    transactionId: row.transaction_id,
    proofingId: row.proofing_id,
    attempt: Number(row.attempt),
    docType: Number(row.doc_type),
    status: row.status as CaseStatus,
    evidenceIds: JSON.parse(row.evidence_ids) as ReviewCase['evidenceIds'],
    claimedBy: row.claimed_by,
    claimExpiresAt: row.claim_expires_at,
    decisionReason: row.decision_reason,
    createdAt: row.created_at,
    faceDecision: row.face_decision as ReviewCase['faceDecision'],
    enrolledFaceDecision: row.enrolled_face_decision as ReviewCase['enrolledFaceDecision'],
  };
}

function caseAudit(reviewCase: ReviewCase, eventType: string, message: string, agentId: string, meta: RequestMeta) {
  return {
    accountId: reviewCase.accountId,
    eventType,
    message,
    traceId: meta.traceId,
    ipAddress: meta.ipAddress,
    referenceId: reviewCase.transactionId,
    data: { caseId: reviewCase.id, agentId },
  };
}

const captureNotExpected = () =>
  apiError('capture_not_expected', 'The transaction is not waiting for a capture: it is under review, has ended, or has expired.');

const caseNotAvailable = () => apiError('case_not_available', 'The case is claimed by another agent, your claim has expired, or it was already decided.');
