import type { AuditLog } from '../audit/log.js';
import type { Config } from '../config.js';
import type { Outbox } from '../events/outbox.js';
import type { FlowStateMachine } from '../flows/state.js';
import type { ProofingService } from '../proofing/service.js';
import type { Keyring } from '../security/keyring.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { Store } from '../store/database.js';
import { apiError, errors } from '../shared/errors.js';
import type { RequestMeta } from '../http/request-meta.js';
import { findByActivationCode } from '../flows/transaction.js';
import { isUniqueViolation } from '../store/database.js';
import { type CounterWindow, type RateCounters, retryAfterSeconds } from '../security/rate-counters.js';
import { sourcePrefixes } from '../security/source-prefix.js';
import { hashActivationCode, normalizeActivationCode } from './activation-codes.js';
import type { ActivationResult } from './schemas.js';
import type { DeviceTransactions } from './transaction-access.js';
import { insertDevice } from './device-store.js';
import { ACTIVATION_TYP, checkFreshness, ProofRejected, validateDeviceJwk, verifyDeviceJws } from './proofs.js';

const GLOBAL_FAILURES = 'activation-failures:global';
const sourceFailures = (prefix: string) => `activation-failures:source:${prefix}`;
const siteFailures = (prefix: string) => `activation-failures:site:${prefix}`;

export interface ActivationDeps {
  store: Pick<Store, 'db' | 'write'>;
  clock: Clock;
  random: RandomSource;
  keyring: Keyring;
  config: Pick<Config, 'activation' | 'deviceProofMaxAgeSeconds' | 'publicUrl'>;
  audit: Pick<AuditLog, 'append'>;
  outbox: Pick<Outbox, 'enqueue'>;
  flows: Pick<FlowStateMachine, 'transition'>;
  proofing: Pick<ProofingService, 'start'>;
  deviceTransactions: Pick<DeviceTransactions, 'postOperationContext'>;
  rateCounters: RateCounters;
}

/**
 * Device activation: the single-use activation code plus proof of possession of the device's P-256 key.
 *
 * Guessing is bounded by failure counters over a sliding window (the shared rate counters: the database, or Redis with
 * the database as its fallback): per source prefix (/24 IPv4, /64 IPv6), per site (/24 IPv4, /48 IPv6) and global. A
 * slot is taken before the code is checked and given back on success or refusal, so the bounds hold in any span of
 * the window's length, even under concurrent guesses, and a guess counts the same whichever transaction it aims at and whichever
 * connection or instance carries it. The global bound slows guessing instead of stopping activation: over it, a site
 * that already tried in the window waits for the next one, but a site with no attempt yet still gets one, so
 * strangers cannot lock legitimate users out (README, "Security", has the arithmetic).
 */
export class ActivationService {
  private readonly window: CounterWindow;

  constructor(private readonly ctx: ActivationDeps) {
    this.window = { ms: ctx.config.activation.failureWindowSeconds * 1000, purpose: 'guessing' };
  }

  async activate(input: { activationCode: string; proof: string }, meta: RequestMeta & { ipAddress: string }): Promise<ActivationResult> {
    const { ctx } = this;
    const now = ctx.clock.now();
    await this.reserveFailureSlot(meta.ipAddress, now);
    try {
      const result = await this.tryActivate(input, meta, now);
      await this.releaseFailureSlot(meta.ipAddress, now);
      return result;
    } catch (error) {
      await ctx.store.write((trx) =>
        ctx.audit.append(trx, {
          accountId: null,
          eventType: 'device.activation.failed',
          message: 'Device activation refused',
          traceId: meta.traceId,
          ipAddress: meta.ipAddress,
          data: { reason: error instanceof Error ? error.message : 'unknown' },
        }),
      );
      throw error;
    }
  }

  private async tryActivate(input: { activationCode: string; proof: string }, meta: RequestMeta, now: number): Promise<ActivationResult> {
    const { ctx } = this;
    const { header } = await this.verifyProof(input, now);
    const key = await validateDeviceJwk(header.jwk);
    const codeHash = hashActivationCode(ctx.keyring, input.activationCode);
    const tx = await findByActivationCode(ctx.store.db, codeHash, now);
    if (tx?.status !== 'Pending' || tx.stage !== 'activation' || now >= tx.expiresAt) throw invalidCode();

    const deviceId = ctx.random.uuid();
    const proofingId = ctx.random.uuid();
    const activated = await ctx.store.write(async (trx) => {
      // Single use: only the request that clears the code's hash moves the transaction on.
      const audit = { eventType: 'device.activated', message: 'Device activated', data: { keyThumbprint: key.thumbprint } };
      const moved = await ctx.flows.transition(trx, tx, 'activate', { activationCodeHash: codeHash, deviceId, proofingId, audit }, meta);
      if (!moved) throw invalidCode();
      try {
        await insertDevice(trx, { id: deviceId, accountId: tx.accountId, userId: tx.userId, key, now });
      } catch (error) {
        if (isUniqueViolation(error))
          throw apiError('device_key_in_use', 'This device key is already registered; generate a new key pair for a new activation.');
        throw error;
      }
      await ctx.proofing.start(trx, moved, proofingId);
      await ctx.outbox.enqueue(trx, tx.accountId, 'device.activated', { deviceId, userId: tx.userId, transactionId: tx.id, state: 'ACTIVE' });
      return moved;
    });
    return {
      deviceId,
      userId: tx.userId,
      transactionId: tx.id,
      post_operation_context: await ctx.deviceTransactions.postOperationContext(activated),
    };
  }

  private async verifyProof(input: { activationCode: string; proof: string }, now: number) {
    try {
      const verified = await verifyDeviceJws(input.proof, ACTIVATION_TYP, 'embedded');
      checkFreshness(verified.payload.iat, now, this.ctx.config.deviceProofMaxAgeSeconds);
      if (verified.payload.aud !== this.ctx.config.publicUrl) throw new ProofRejected('aud must be the server URL');
      if (
        typeof verified.payload.activationCode !== 'string' ||
        normalizeActivationCode(verified.payload.activationCode) !== normalizeActivationCode(input.activationCode)
      ) {
        throw new ProofRejected('the proof must sign the activation code');
      }
      return verified;
    } catch (error) {
      if (error instanceof ProofRejected) {
        throw errors.invalidParameters([{ name: 'proof', reason: error.message }], 'The proof of possession of the device key was rejected.');
      }
      throw error;
    }
  }

  /**
   * Takes a failure slot from the source prefix's budget, its site's and the global one. A prefix over its bound
   * spends none of the global budget. Over the global bound only a site's first attempt of the window goes through.
   * A refused attempt gives its slots back: it checked no code.
   */
  private async reserveFailureSlot(ip: string, now: number): Promise<void> {
    const { maxFailuresGlobal, maxFailuresPerSource } = this.ctx.config.activation;
    const { narrow, wide } = sourcePrefixes(ip);
    const counters = this.ctx.rateCounters;
    const refuse = () => errors.tooManyRequests(retryAfterSeconds(this.window), 'Too many failed activation attempts; retry later.');
    const [fromSource] = await counters.add([sourceFailures(narrow)], this.window, now);
    if (fromSource! > maxFailuresPerSource) {
      await counters.remove([sourceFailures(narrow)], this.window, now);
      throw refuse();
    }
    const wider = wide === narrow ? [GLOBAL_FAILURES] : [siteFailures(wide), GLOBAL_FAILURES];
    const counts = await counters.add(wider, this.window, now);
    const fromSite = wide === narrow ? fromSource! : counts[0]!;
    if (counts.at(-1)! > maxFailuresGlobal && fromSite > 1) {
      await this.releaseFailureSlot(ip, now);
      throw refuse();
    }
  }

  private async releaseFailureSlot(ip: string, now: number): Promise<void> {
    const { narrow, wide } = sourcePrefixes(ip);
    const keys = wide === narrow ? [GLOBAL_FAILURES, sourceFailures(narrow)] : [GLOBAL_FAILURES, siteFailures(wide), sourceFailures(narrow)];
    await this.ctx.rateCounters.remove(keys, this.window, now);
  }
}

/** One answer for unknown, used and expired codes: a guesser learns nothing about which codes exist. */
const invalidCode = () => apiError('invalid_activation_code', 'The activation code is unknown, already used or expired.');
