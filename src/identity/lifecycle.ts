import type { z } from 'zod';
import type { AuditLog } from '../audit/log.js';
import type { AuditItem } from '../audit/log.js';
import { auditItemsAboutUser } from '../audit/query.js';
import { deactivateUserDevices, listUserDevices } from '../devices/device-store.js';
import type { CredentialOffers } from '../credentials/offers.js';
import type { CredentialRegistry } from '../credentials/registry.js';
import type { IssuedCredentialView } from '../credentials/schemas.js';
import type { Outbox } from '../events/outbox.js';
import type { FlowStateMachine } from '../flows/state.js';
import { findUserTransactions } from '../flows/transaction.js';
import { transactionData, type TransactionData } from '../flows/view.js';
import { openCursor, sealCursor } from '../http/cursors.js';
import type { RequestMeta } from '../http/request-meta.js';
import type { DataCipher } from '../security/keyring.js';
import { apiError, errors } from '../shared/errors.js';
import { isoTime, type Clock } from '../shared/runtime.js';
import type { Executor, Store, Tx } from '../store/database.js';
import type { EvidenceStore } from '../dossier/evidence.js';
import type { DeviceViewSchema } from './schemas.js';
import type { User, UserStore, VerifiedAttribute } from './users.js';

/**
 * The personal-data lifecycle of a user (GDPR Art. 15 and 17): erase, export, and find by externalRef.
 *
 * Erasure is crypto-shredding: the user's data key is destroyed (UserStore.erase), which makes every value sealed with
 * it unreadable here; a backup taken before still holds the sealed key until it expires (README). Around it, in the same unit of work, the user's open transactions end
 * Failed (`user_erased`) through the state machine, the devices are deactivated, the user's queued and logged events
 * lose their personal data (Outbox.redactUser), and `user.erased` is audited and announced. The audit chain is left
 * untouched (its items hold identifiers, never personal data), so it still verifies.
 *
 * A second erase answers 204 and changes nothing: DELETE is idempotent, and a client retrying after a lost answer must
 * not see an error. A proofing in flight when the user is erased cannot complete: its transaction is already Failed,
 * and ProofingService.decide no longer finds the user, so its unit of work rolls back; a decision racing the erase
 * could at most seal values with the destroyed key, which nobody can open.
 */
export interface LifecycleDeps {
  store: Pick<Store, 'db' | 'write'>;
  clock: Clock;
  users: UserStore;
  evidence: Pick<EvidenceStore, 'listForUser'>;
  flows: Pick<FlowStateMachine, 'transition' | 'readUserData'>;
  audit: Pick<AuditLog, 'append'>;
  outbox: Pick<Outbox, 'enqueue' | 'redactUser'>;
  /** The server cipher: seals find cursors. */
  cipher: DataCipher;
  baseUrl: string;
  /** Erasure revokes the user's credentials and withdraws their open offers; the export lists the credentials. */
  credentialRegistry: Pick<CredentialRegistry, 'revokeForUser' | 'listForUser'>;
  credentialOffers: Pick<CredentialOffers, 'deleteForUser'>;
}

/** Evidence contents an export with `include=evidence` may carry, in plaintext bytes (base64 adds a third). */
export const MAX_EXPORT_EVIDENCE_BYTES = 64 * 1024 * 1024;
/** Audit items an export carries, newest first; `auditItemsTruncated` tells when there were more. */
export const MAX_EXPORT_AUDIT_ITEMS = 10_000;
export const MAX_FIND_LIMIT = 100;
const CURSOR_CONTEXT = 'users-find-cursor';

export interface ExportedEvidence {
  evidenceId: string;
  proofingId: string;
  kind: string;
  mediaType: string;
  size: number;
  createdAt: string;
  /** Base64, with `include=evidence` only. */
  content?: string;
}

export interface UserExport {
  userId: string;
  state: string;
  createdAt: string;
  exportedAt: string;
  externalRef?: unknown;
  attributes: Record<string, VerifiedAttribute>;
  devices: z.infer<typeof DeviceViewSchema>[];
  transactions: TransactionData[];
  evidence: ExportedEvidence[];
  credentials: IssuedCredentialView[];
  auditItems: AuditItem[];
  auditItemsTruncated: boolean;
}

export interface UserSummary {
  userId: string;
  state: string;
  createdAt: string;
}

interface FindCursor {
  accountId: string;
  hash: string;
  limit: number;
  after: string;
}

export const exportTooLarge = () =>
  apiError('export_too_large', `The user's evidence exceeds ${MAX_EXPORT_EVIDENCE_BYTES} bytes: export without include=evidence.`);

export class UserLifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  /** Erases the user; 404 when the account has no such user, nothing to do when already erased. */
  async erase(accountId: string, userId: string, meta: RequestMeta): Promise<void> {
    const { deps } = this;
    await deps.store.write(async (trx) => {
      const state = await deps.users.stateOf(trx, accountId, userId);
      if (state === null) throw errors.userNotFound(userId);
      const now = deps.clock.now();
      if (!(await deps.users.erase(trx, accountId, userId, now))) return;
      const endedTransactionIds = await this.endOpenTransactions(trx, userId, now, meta);
      const deactivatedDeviceIds = await deactivateUserDevices(trx, userId, now);
      await deps.credentialOffers.deleteForUser(trx, userId);
      await deps.credentialRegistry.revokeForUser(trx, { accountId, userId, reason: 'user_erased' }, meta);
      // The user's past events were sealed with the server key: their personal data goes with the user's key.
      await deps.outbox.redactUser(trx, userId);
      await deps.audit.append(trx, {
        accountId,
        eventType: 'user.erased',
        message: 'User erased: data key destroyed',
        clientId: meta.clientId ?? null,
        traceId: meta.traceId ?? null,
        ipAddress: meta.ipAddress ?? null,
        userId,
        referenceId: userId,
        data: { endedTransactionIds, deactivatedDeviceIds },
      });
      await deps.outbox.enqueue(trx, accountId, 'user.erased', { userId, erasedAt: isoTime(now), endedTransactionIds, deactivatedDeviceIds });
    });
  }

  /** Open (Pending, unexpired) transactions end Failed; an expired one is the sweeper's, as always. */
  private async endOpenTransactions(trx: Tx, userId: string, now: number, meta: RequestMeta): Promise<string[]> {
    const ended: string[] = [];
    for (const tx of await findUserTransactions(trx, userId, now)) {
      if (await this.deps.flows.transition(trx, tx, 'fail', { reason: 'user_erased' }, meta)) ended.push(tx.id);
    }
    return ended;
  }

  /** Everything held about a live user of the account, as one document. */
  async export(accountId: string, userId: string, includeEvidence: boolean): Promise<UserExport> {
    const { db } = this.deps.store;
    const user = await this.deps.users.find(db, accountId, userId);
    if (!user) throw errors.userNotFound(userId);
    const now = this.deps.clock.now();
    const externalRef = await this.deps.users.readExternalRef(db, user);
    const audit = await auditItemsAboutUser(db, user.accountId, user.id, MAX_EXPORT_AUDIT_ITEMS);
    return {
      userId: user.id,
      state: user.state,
      createdAt: isoTime(user.createdAt),
      exportedAt: isoTime(now),
      ...(externalRef === undefined ? {} : { externalRef }),
      attributes: await this.deps.users.readAttributes(db, user),
      devices: (await listUserDevices(db, user.id)).map((d) => ({ deviceId: d.id, state: d.state, createdAt: isoTime(d.createdAt) })),
      transactions: await this.transactions(db, user, now),
      evidence: await this.evidence(db, user, includeEvidence),
      credentials: await this.deps.credentialRegistry.listForUser(db, user.id),
      auditItems: audit.items,
      auditItemsTruncated: audit.truncated,
    };
  }

  private async transactions(db: Executor, user: User, now: number): Promise<TransactionData[]> {
    const transactions: TransactionData[] = [];
    for (const tx of await findUserTransactions(db, user.id)) transactions.push(transactionData(tx, now, await this.deps.flows.readUserData(db, tx)));
    return transactions;
  }

  private async evidence(db: Executor, user: User, includeContent: boolean): Promise<ExportedEvidence[]> {
    const items = await this.deps.evidence.listForUser(db, user.id);
    // Checked before anything is opened: an oversized export costs no decryption and no memory.
    if (includeContent && items.reduce((sum, item) => sum + item.size, 0) > MAX_EXPORT_EVIDENCE_BYTES) throw exportTooLarge();
    const cipher = this.deps.users.cipher(user);
    const exported: ExportedEvidence[] = [];
    for (const item of items) {
      exported.push({
        evidenceId: item.id,
        proofingId: item.proofingId,
        kind: item.kind,
        mediaType: item.mediaType,
        size: item.size,
        createdAt: isoTime(item.createdAt),
        ...(includeContent ? { content: (await item.open(cipher)).toString('base64') } : {}),
      });
    }
    return exported;
  }

  /**
   * Live users of the account whose externalRef matches, by keyed hash, oldest ID first. A page that may have a
   * successor carries `next`: a URL with a sealed cursor (the query and where the page ended, bound to the account).
   */
  async find(accountId: string, query: { externalRef?: string; limit?: number; cursor?: string }): Promise<{ items: UserSummary[]; next: string | null }> {
    const page = query.cursor !== undefined ? this.openCursor(accountId, query.cursor) : this.firstPage(accountId, query);
    const rows = await this.deps.users.findByExternalRefHash(this.deps.store.db, accountId, page);
    const last = rows.at(-1);
    const next = rows.length === page.limit && last ? this.nextUrl({ ...page, after: last.id }) : null;
    return { items: rows.map((row) => ({ userId: row.id, state: row.state, createdAt: isoTime(row.createdAt) })), next };
  }

  private firstPage(accountId: string, query: { externalRef?: string; limit?: number }): FindCursor {
    if (query.externalRef === undefined) throw errors.invalidParameters([{ name: 'externalRef', reason: 'externalRef (or a cursor) is required' }]);
    return { accountId, hash: this.deps.users.externalRefHash(query.externalRef), limit: query.limit ?? MAX_FIND_LIMIT, after: '' };
  }

  private nextUrl(cursor: FindCursor): string {
    return `${this.deps.baseUrl}/reuseid/users?cursor=${sealCursor(this.deps.cipher, CURSOR_CONTEXT, cursor)}`;
  }

  private openCursor(accountId: string, cursor: string): FindCursor {
    return openCursor<FindCursor>(this.deps.cipher, CURSOR_CONTEXT, accountId, cursor);
  }
}
