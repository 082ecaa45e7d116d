import type { AuditLog } from '../audit/log.js';
import type { Config } from '../config.js';
import type { DeviceOperations } from '../devices/operations.js';
import type { UserStore } from '../identity/users.js';
import type { Keyring } from '../security/keyring.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { Store } from '../store/database.js';
import type { FlowStateMachine } from './state.js';
import { apiError, errors } from '../shared/errors.js';
import { findAccountDevice } from '../devices/device-store.js';
import { hashActivationCode, newActivationCode } from '../devices/activation-codes.js';
import type { Principal } from '../oauth/tokens.js';
import type { User } from '../identity/users.js';
import { isUniqueViolation, type Executor, type Insert, type Tx } from '../store/database.js';
import { isoTime } from '../shared/runtime.js';
import type { RequestMeta } from '../http/request-meta.js';
import { resolveProofingRequest, type OnboardingBody, type StepUpBody } from './schemas.js';
import type { TransactionsTable } from '../store/schema.js';
import type { FlowKind, Transaction } from './transaction.js';
import { isEnrolled } from '../identity/binding.js';
import { namedStatement } from '../store/prepared.js';
import { rowInsert } from '../store/row-insert.js';

export interface StoredStart {
  data: { transactionId: string; activationCode?: string; activationCodeExpiresAt?: string; [field: string]: unknown };
}

/**
 * The two entry points of the flow. Onboarding creates the user and hands out an activation code; step-up starts
 * from an existing user and one of their active devices. Both write the transaction and its audit item atomically.
 */
export interface FlowStarterDeps {
  store: Pick<Store, 'db' | 'write' | 'insertTogether'>;
  clock: Clock;
  random: RandomSource;
  keyring: Keyring;
  config: Pick<Config, 'activation' | 'transactionTtlSeconds'>;
  users: Pick<UserStore, 'newUser' | 'find' | 'cipher' | 'attributeNames'>;
  audit: Pick<AuditLog, 'newItem'>;
  flows: Pick<FlowStateMachine, 'newTransaction' | 'replaceActivationCode'>;
  deviceOperations: Pick<DeviceOperations, 'create'>;
}

export class FlowStarter {
  constructor(private readonly ctx: FlowStarterDeps) {}

  async startOnboarding(principal: Principal, body: OnboardingBody, meta: RequestMeta) {
    const { ctx } = this;
    // A fresh code collides with a pending one about once in 10^10 / pending; retry the whole unit of work then.
    for (let attempt = 1; ; attempt++) {
      const activationCode = newActivationCode(ctx.random, ctx.config.activation.codeLength);
      try {
        const db = ctx.store.db;
        const now = ctx.clock.now();
        const { user, insert: userInsert } = ctx.users.newUser(db, principal.accountId, body.externalRef);
        const dossier = this.newDossier(db, user, now);
        const codeExpiresAt = now + ctx.config.activation.codeTtlSeconds * 1000;
        const { transaction: tx, insert: transactionInsert } = this.newTransaction(db, principal, body, {
          kind: 'onboarding',
          user,
          dossierId: dossier.id,
          deviceId: null,
          now,
          activationCodeHash: hashActivationCode(ctx.keyring, activationCode),
          activationCodeExpiresAt: codeExpiresAt,
        });
        // Nothing here reads the database: the four rows are known, and go in one statement (one round trip on PostgreSQL).
        await ctx.store.insertTogether([userInsert, dossier.insert, transactionInsert, this.startItem(db, tx, meta).insert]);
        return {
          status: 'Pending' as const,
          transactionId: tx.id,
          userId: user.id,
          activationCode,
          dossierId: dossier.id,
          processId: tx.processId,
          expiresAt: isoTime(tx.expiresAt),
          activationCodeExpiresAt: isoTime(Math.min(codeExpiresAt, tx.expiresAt)),
        };
      } catch (error) {
        if (attempt < 3 && isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  /**
   * For an idempotent replay of Start onboarding: while the device has not activated yet, a fresh code replaces the
   * old one (which stops working) and is returned with the stored answer; afterwards the answer has no code.
   */
  async reissueActivationCode(stored: StoredStart): Promise<StoredStart> {
    const { ctx } = this;
    const data = stored.data;
    const now = ctx.clock.now();
    const activationCode = newActivationCode(ctx.random, ctx.config.activation.codeLength);
    const codeExpiresAt = now + ctx.config.activation.codeTtlSeconds * 1000;
    const replaced = await ctx.flows.replaceActivationCode(ctx.store.db, data.transactionId, hashActivationCode(ctx.keyring, activationCode), codeExpiresAt);
    if (!replaced) return stored;
    return { data: { ...data, activationCode, activationCodeExpiresAt: isoTime(codeExpiresAt) } };
  }

  async startStepUp(principal: Principal, body: StepUpBody, meta: RequestMeta) {
    const { ctx } = this;
    const user = await ctx.users.find(ctx.store.db, principal.accountId, body.userId);
    if (!user) throw errors.userNotFound(body.userId);
    // A step-up proves the enrolled person again; without an enrolled identity there is nothing to compare it with.
    if (!isEnrolled(await ctx.users.attributeNames(ctx.store.db, user))) {
      throw apiError('user_not_enrolled', 'The user has no verified identity yet: complete an onboarding before a step-up.');
    }
    const device = await findAccountDevice(ctx.store.db, principal.accountId, body.deviceId);
    if (!device || device.userId !== user.id) {
      throw errors.deviceNotFound(`No device with ID ${body.deviceId} is registered to user ${body.userId}.`);
    }
    if (device.state !== 'ACTIVE') {
      throw apiError('device_not_active', `The device is ${device.state.toLowerCase()} and cannot approve a step-up.`);
    }
    return ctx.store.write(async (trx) => {
      const now = ctx.clock.now();
      const dossierId = (await this.findDossier(trx, user)) ?? (await this.createDossier(trx, user, now));
      const { transaction: tx, insert } = this.newTransaction(trx, principal, body, { kind: 'stepup', user, dossierId, deviceId: device.id, now });
      await trx.executeQuery(namedStatement(insert));
      await ctx.deviceOperations.create(trx, tx, device.id);
      await trx.executeQuery(namedStatement(this.startItem(trx, tx, meta).insert));
      return {
        status: 'Pending' as const,
        transactionId: tx.id,
        userId: user.id,
        deviceId: device.id,
        dossierId,
        processId: tx.processId,
        expiresAt: isoTime(tx.expiresAt),
      };
    });
  }

  private newTransaction(
    executor: Executor,
    principal: Principal,
    body: OnboardingBody | StepUpBody,
    t: { kind: FlowKind; user: User; dossierId: string; deviceId: string | null; now: number; activationCodeHash?: string; activationCodeExpiresAt?: number },
  ): { transaction: Transaction; insert: Insert } {
    const { ctx } = this;
    const { provider, options } = resolveProofingRequest(body);
    const id = ctx.random.uuid();
    const row: Omit<TransactionsTable, 'status' | 'stage'> = {
      id,
      account_id: principal.accountId,
      client_id: principal.clientId,
      kind: t.kind,
      user_id: t.user.id,
      device_id: t.deviceId,
      provider,
      provider_options: JSON.stringify(options),
      external_ref_sealed: body.externalRef === undefined ? null : ctx.users.cipher(t.user).sealJson(body.externalRef, `transaction:${id}:externalRef`),
      activation_code_hash: t.activationCodeHash ?? null,
      activation_code_expires_at: t.activationCodeExpiresAt ?? null,
      dossier_id: t.dossierId,
      process_id: ctx.random.uuid(),
      proofing_id: null,
      user_data_sealed: null,
      failure_reason: null,
      created_at: t.now,
      updated_at: t.now,
      expires_at: t.now + ctx.config.transactionTtlSeconds * 1000,
      ended_at: null,
      minimum_assurance_level: body.minimumAssuranceLevel ?? null,
      assurance_level: null,
      verification: null,
    };
    return ctx.flows.newTransaction(executor, row);
  }

  private newDossier(executor: Executor, user: User, now: number): { id: string; insert: Insert } {
    const id = this.ctx.random.uuid();
    return { id, insert: rowInsert(executor, 'dossiers', { id, account_id: user.accountId, user_id: user.id, created_at: now }) };
  }

  private async createDossier(trx: Tx, user: User, now: number): Promise<string> {
    const { id, insert } = this.newDossier(trx, user, now);
    await trx.executeQuery(namedStatement(insert));
    return id;
  }

  /** One dossier per user: step-ups add their evidence to the dossier onboarding created. */
  private async findDossier(trx: Tx, user: User): Promise<string | undefined> {
    const row = await trx.selectFrom('dossiers').select('id').where('user_id', '=', user.id).orderBy('created_at').limit(1).executeTakeFirst();
    return row?.id;
  }

  private startItem(executor: Executor, tx: Transaction, meta: RequestMeta) {
    return this.ctx.audit.newItem(executor, {
      accountId: tx.accountId,
      eventType: `${tx.kind}.started`,
      message: `${tx.kind === 'onboarding' ? 'Onboarding' : 'Step-up'} started`,
      clientId: tx.clientId,
      traceId: meta.traceId,
      ipAddress: meta.ipAddress,
      userId: tx.userId,
      referenceId: tx.id,
      data: { provider: tx.provider, ...(tx.deviceId ? { deviceId: tx.deviceId } : {}), dossierId: tx.dossierId, processId: tx.processId },
    });
  }
}
