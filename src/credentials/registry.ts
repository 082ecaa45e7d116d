import { createHeaderAndPayload, StatusList } from '@sd-jwt/jwt-status-list';
import type { AuditLog } from '../audit/log.js';
import type { Outbox } from '../events/outbox.js';
import type { RequestMeta } from '../http/request-meta.js';
import { signJwt, type SigningKeys } from '../oauth/signing-keys.js';
import { isoTime, type Clock, type RandomSource } from '../shared/runtime.js';
import type { Executor, Tx } from '../store/database.js';
import { deleteExpiredRows } from './expiry.js';
import { CREDENTIAL_ALG, STATUS_LIST_PATH } from './metadata.js';
import type { IssuedCredentialView } from './schemas.js';

/**
 * Issued credentials and their revocation with IETF Token Status Lists (draft-ietf-oauth-status-list). Owner of
 * `credentials` and `credential_status_lists`.
 *
 * Every credential gets a slot at a random index of a large list shared by all accounts, so that an index (and a
 * verifier fetching the list) says nothing about who holds it; a list is closed when half its slots are taken, which
 * keeps random allocation cheap. A list's token is built from the revoked rows, cached by each instance for
 * STATUS_LIST_TTL_SECONDS (and dropped at once by the instance that revokes), and served with that max-age.
 */
export const STATUS_LIST_SIZE = 131_072;
const FILL_LIMIT = STATUS_LIST_SIZE / 2;
const ALLOCATION_TRIES = 32;
export const STATUS_LIST_TTL_SECONDS = 60;
/** A status list token is valid for a day; verifiers fetch a fresh one every TTL. */
const STATUS_LIST_VALIDITY_SECONDS = 24 * 3600;
const REVOKED = 1;

export type RevocationReason = 'user_erased' | 'identity_mismatch' | 'device_locked' | 'revoked_by_rp';

export interface IssuedCredential {
  credentialId: string;
  statusListId: string;
  statusIndex: number;
}

export interface CredentialRegistryDeps {
  clock: Clock;
  random: RandomSource;
  audit: Pick<AuditLog, 'append'>;
  outbox: Pick<Outbox, 'enqueue'>;
  keys: SigningKeys;
  issuer: string;
}

export class CredentialRegistry {
  private readonly tokens = new Map<string, { jwt: string; builtAt: number }>();
  private readonly building = new Map<string, Promise<string | null>>();

  constructor(private readonly deps: CredentialRegistryDeps) {}

  statusListUri(listId: string): string {
    return `${this.deps.issuer}${STATUS_LIST_PATH}/${listId}`;
  }

  /** Records a credential about to be signed and gives it a free status slot. */
  async record(
    trx: Tx,
    credential: { accountId: string; userId: string; offerId: string; configurationId: string; holderKeyThumbprint: string; expiresAt: number },
  ): Promise<IssuedCredential> {
    const credentialId = this.deps.random.uuid();
    const listId = await this.openList(trx);
    for (let attempt = 0; attempt < ALLOCATION_TRIES; attempt++) {
      const index = this.deps.random.bytes(4).readUInt32BE(0) % STATUS_LIST_SIZE;
      const inserted = await trx
        .insertInto('credentials')
        .values({
          id: credentialId,
          account_id: credential.accountId,
          user_id: credential.userId,
          offer_id: credential.offerId,
          configuration_id: credential.configurationId,
          status_list_id: listId,
          status_index: index,
          holder_key_thumbprint: credential.holderKeyThumbprint,
          issued_at: this.deps.clock.now(),
          expires_at: credential.expiresAt,
          revoked_at: null,
          revocation_reason: null,
        })
        .onConflict((oc) => oc.columns(['status_list_id', 'status_index']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return { credentialId, statusListId: listId, statusIndex: index };
    }
    // At most half the slots are taken, so 32 misses in a row happen once in four billion allocations.
    throw new Error('No free status list slot found');
  }

  /**
   * Revokes every unexpired credential of the user, audits it and announces `credential.revoked`, in the caller's unit
   * of work. Returns the revoked ids (none is not an error: the user may hold no credential).
   */
  async revokeForUser(trx: Tx, target: { accountId: string; userId: string; reason: RevocationReason }, meta: RequestMeta = {}): Promise<string[]> {
    const now = this.deps.clock.now();
    const revoked = await trx
      .updateTable('credentials')
      .set({ revoked_at: now, revocation_reason: target.reason })
      .where('account_id', '=', target.accountId)
      .where('user_id', '=', target.userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .returning(['id', 'status_list_id'])
      .execute();
    if (revoked.length === 0) return [];
    for (const row of revoked) this.tokens.delete(row.status_list_id);
    const credentialIds = revoked.map((row) => row.id);
    await this.deps.audit.append(trx, {
      accountId: target.accountId,
      eventType: 'credential.revoked',
      message: `Credentials revoked: ${target.reason}`,
      ...meta,
      userId: target.userId,
      data: { credentialIds, reason: target.reason },
    });
    await this.deps.outbox.enqueue(trx, target.accountId, 'credential.revoked', {
      userId: target.userId,
      credentialIds,
      reason: target.reason,
      revokedAt: isoTime(now),
    });
    return credentialIds;
  }

  /**
   * Retention: an account's credentials that expired before `expiredBefore`, at most `limit`. An expired credential is
   * invalid whatever its status, so its row and status slot are no longer needed.
   */
  async deleteExpired(trx: Tx, where: { accountId: string; expiredBefore: number; limit: number }): Promise<number> {
    return deleteExpiredRows(trx, 'credentials', where);
  }

  /** The user's credentials, oldest first (the export). */
  async listForUser(executor: Executor, userId: string): Promise<IssuedCredentialView[]> {
    const rows = await executor.selectFrom('credentials').selectAll().where('user_id', '=', userId).orderBy('issued_at').execute();
    return rows.map((row) => ({
      credentialId: row.id,
      configurationId: row.configuration_id,
      issuedAt: isoTime(row.issued_at),
      expiresAt: isoTime(row.expires_at),
      revokedAt: row.revoked_at === null ? null : isoTime(row.revoked_at),
      revocationReason: row.revocation_reason,
    }));
  }

  /**
   * The signed `statuslist+jwt` of a list, or null for an unknown list. Verifiers all fetch a list when its cache
   * expires: concurrent requests share one build.
   */
  async statusListToken(executor: Executor, listId: string): Promise<string | null> {
    const cached = this.tokens.get(listId);
    // A token built "in the future" (the clock was stepped back since) is stale too: verifiers would refuse its iat.
    const age = cached ? this.deps.clock.now() - cached.builtAt : -1;
    if (cached && age >= 0 && age < STATUS_LIST_TTL_SECONDS * 1000) return cached.jwt;
    if (listId.length > 100) return null;
    let build = this.building.get(listId);
    if (!build) {
      build = this.buildStatusList(executor, listId).finally(() => this.building.delete(listId));
      this.building.set(listId, build);
    }
    return build;
  }

  private async buildStatusList(executor: Executor, listId: string): Promise<string | null> {
    const now = this.deps.clock.now();
    const list = await executor.selectFrom('credential_status_lists').select(['id', 'size']).where('id', '=', listId).executeTakeFirst();
    if (!list) return null;
    const revoked = await executor
      .selectFrom('credentials')
      .select('status_index')
      .where('status_list_id', '=', listId)
      .where('revoked_at', 'is not', null)
      .execute();
    const statuses = new StatusList(new Array<number>(list.size).fill(0), 1);
    for (const row of revoked) statuses.setStatus(row.status_index, REVOKED);
    const jwt = await this.signStatusList(executor, statuses, listId, now);
    this.tokens.set(listId, { jwt, builtAt: now });
    return jwt;
  }

  private async signStatusList(executor: Executor, statuses: StatusList, listId: string, now: number): Promise<string> {
    const key = await this.deps.keys.signingKey(executor);
    const iat = Math.floor(now / 1000);
    const { header, payload } = createHeaderAndPayload(
      statuses,
      { iss: this.deps.issuer, sub: this.statusListUri(listId), iat, exp: iat + STATUS_LIST_VALIDITY_SECONDS, ttl: STATUS_LIST_TTL_SECONDS },
      { alg: CREDENTIAL_ALG, typ: 'statuslist+jwt', kid: key.kid },
    );
    return signJwt(header, payload, key.privateKey);
  }

  /** The list new credentials go to: the newest one, or a new one once it is half full. */
  private async openList(trx: Tx): Promise<string> {
    const newest = await trx.selectFrom('credential_status_lists').select('id').orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (newest) {
      const used = await trx
        .selectFrom('credentials')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status_list_id', '=', newest.id)
        .executeTakeFirstOrThrow();
      if (Number(used.n) < FILL_LIMIT) return newest.id;
    }
    const id = this.deps.random.uuid();
    await trx.insertInto('credential_status_lists').values({ id, size: STATUS_LIST_SIZE, created_at: this.deps.clock.now() }).execute();
    return id;
  }
}
