import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { DEFAULT_TRUST_STORE } from './icao/trust-store.js';
import { ASSURANCE_LEVELS, type AssuranceLevel } from './proofing/assurance.js';

/**
 * One typed configuration object, read from the environment (and CLI flags that override it) and validated at
 * start, so that a bad setting stops the process with a clear message instead of misbehaving later.
 */
const booleanFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Which X-Forwarded-For hops to believe: a hop count, or the addresses (and CIDRs) of the proxies in front. Trusting
 * every hop (`true`) is refused: the left-most entry is whatever the client wrote, so source limits and audit
 * addresses could be forged. `false`/`no` trust none, like 0.
 */
const trustProxyFromEnv = z.string().transform((text, ctx): number | string[] => {
  const value = text.trim().toLowerCase();
  if (value === 'false' || value === 'no') return 0;
  if (value === 'true' || value === 'yes') {
    ctx.addIssue({ code: 'custom', message: 'trusting every proxy hop lets a client forge its address: give the hop count (e.g. 1) or the proxy addresses' });
    return z.NEVER;
  }
  if (/^\d+$/.test(value)) return Number(value);
  const proxies = value.split(',').map((entry) => entry.trim());
  const invalid = proxies.find((entry) => !isAddressOrCidr(entry));
  if (invalid === undefined) return proxies;
  ctx.addIssue({ code: 'custom', message: `"${invalid}" is neither a hop count nor a proxy address or CIDR` });
  return z.NEVER;
});

function isAddressOrCidr(entry: string): boolean {
  if (ipaddr.isValid(entry)) return true;
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}

/** Calibrated on the labelled face set (`npm run bench:faces`, README "Face matching"). */
export const DEFAULT_FACE_THRESHOLD = 0.5;

/**
 * One core stays with the event loop (HTTP, database), the others run face models; at most 4 by default because each
 * worker holds its own copy of the model (13 MB of weights plus a TensorFlow.js WebAssembly runtime; its resident size was not measured).
 */
export const defaultFaceWorkers = (): number => Math.max(1, Math.min(4, availableParallelism() - 1));

const seconds = (fallback: number, max = 31 * 24 * 3600) => z.coerce.number().int().min(1).max(max).default(fallback);

/** How long what a transaction leaves behind is kept after it ends, in days (README "Retention" gives the why). */
export interface RetentionPeriods {
  /** Evidence (captured images, chip files, submitted outcomes): the proof, kept for disputes and reviews. */
  evidenceDays: number;
  /** The ended transaction itself (its outcome, proofings, device operations); Get answers 404 afterwards. */
  transactionsDays: number;
  /** Webhook delivery logs (deliveries and their attempts), after the delivery ended. */
  deliveriesDays: number;
}

export const DEFAULT_RETENTION: Readonly<RetentionPeriods> = { evidenceDays: 90, transactionsDays: 365, deliveriesDays: 30 };
/**
 * Evidence and transactions: 20 years covers the longest anti-money-laundering keeping periods. Delivery logs: 30,
 * because the outbox event a delivery logs is erased 33 days after it was sent (EVENT_RETENTION_MS +
 * EVENT_LOG_RETENTION_MS in events/outbox.ts) and takes its deliveries with it: a longer setting would promise
 * what the server does not keep.
 */
export const MAX_RETENTION_DAYS: Readonly<RetentionPeriods> = { evidenceDays: 7300, transactionsDays: 7300, deliveriesDays: 30 };

const retentionDays = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** Evidence belongs to its transaction, which takes it along when deleted: a longer evidence period would not hold. */
export function retentionProblem(periods: RetentionPeriods): string | null {
  return periods.evidenceDays > periods.transactionsDays
    ? `evidence cannot be kept longer (${periods.evidenceDays} days) than the transaction it belongs to (${periods.transactionsDays} days)`
    : null;
}

const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  REUSEID_DATABASE_URL: z.string().default('sqlite:./data/reuseid.db'),
  REUSEID_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  // Hot statements as named (server-side prepared) statements on PostgreSQL; off behind a pooler that cannot carry them.
  REUSEID_DATABASE_NAMED_STATEMENTS: booleanFromEnv.default(true),
  // Rate counters in Redis instead of the database (src/security/counter-backends.ts): redis:// or rediss:// (TLS).
  REUSEID_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  // Prefix of every key the server writes in Redis, so that several deployments can share one Redis.
  REUSEID_REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\w:.-]{0,64}$/, 'letters, digits and _ : . - only, at most 64')
    .default('reuseid:'),
  REUSEID_PUBLIC_URL: z.url().optional(),
  REUSEID_MASTER_KEY: z.string().optional(),
  REUSEID_MASTER_KEY_FILE: z.string().optional(),
  REUSEID_SANDBOX: booleanFromEnv.default(false),
  REUSEID_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REUSEID_TRUST_PROXY: trustProxyFromEnv.default(0),
  REUSEID_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  REUSEID_ACTIVATION_CODE_LENGTH: z.coerce.number().int().min(8).max(20).default(10),
  REUSEID_ACTIVATION_CODE_TTL_SECONDS: seconds(900),
  REUSEID_ACTIVATION_FAILURE_WINDOW_SECONDS: seconds(900),
  REUSEID_ACTIVATION_MAX_FAILURES_GLOBAL: z.coerce.number().int().min(1).default(200),
  REUSEID_ACTIVATION_MAX_FAILURES_PER_SOURCE: z.coerce.number().int().min(1).default(10),
  REUSEID_TRANSACTION_TTL_SECONDS: seconds(3600),
  REUSEID_STEPUP_APPROVAL_TTL_SECONDS: seconds(300),
  REUSEID_DEVICE_PROOF_MAX_AGE_SECONDS: seconds(60, 600),
  REUSEID_SIGNING_KEY_ROTATION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  REUSEID_SWEEP_INTERVAL_SECONDS: seconds(30),
  REUSEID_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(120).default(0),
  // Requests per sliding minute, counted in the database (or Redis) so that every instance shares one budget.
  REUSEID_RATE_LIMIT_TOKEN_PER_CLIENT: z.coerce.number().int().min(1).default(600),
  REUSEID_RATE_LIMIT_TOKEN_PER_SOURCE: z.coerce.number().int().min(1).default(1200),
  REUSEID_RATE_LIMIT_DEVICE_PER_DEVICE: z.coerce.number().int().min(1).default(120),
  REUSEID_RATE_LIMIT_DEVICE_FAILURES_PER_SOURCE: z.coerce.number().int().min(1).default(120),
  REUSEID_RATE_LIMIT_ACTIVATION_PER_SOURCE: z.coerce.number().int().min(1).default(60),
  // Signed device request bodies being received at once by this process (they are held in memory until verified).
  REUSEID_DEVICE_UPLOADS_PER_DEVICE: z.coerce.number().int().min(1).default(2),
  REUSEID_DEVICE_UPLOADS_TOTAL: z.coerce.number().int().min(1).default(16),
  // Webhook targets must be public https URLs; true admits http and private/loopback addresses (tests, local demos).
  REUSEID_WEBHOOK_ALLOW_PRIVATE: booleanFromEnv.default(false),
  REUSEID_WEBHOOK_SECRET_OVERLAP_SECONDS: seconds(24 * 3600, 7 * 24 * 3600),
  REUSEID_WEBHOOK_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  // How long a claimed delivery stays with the instance that claimed it; at least the 15 s send timeout plus margin.
  REUSEID_WEBHOOK_LEASE_SECONDS: z.coerce.number().int().min(20).max(3600).default(60),
  // CSCA certificates, master lists and CRLs for ReadID: a file or a folder.
  REUSEID_TRUST_STORE: z.string().optional(),
  REUSEID_READID_DUPLICATE_DOCUMENT: z.enum(['reject', 'allow']).default('reject'),
  // Whether a ReadID upload must carry a selfie to compare with the chip photo; without one a proofing binds no person.
  REUSEID_READID_SELFIE: z.enum(['required', 'optional']).default('required'),
  // Face matching (src/faces): score = 1 - Euclidean distance of dlib descriptors; the default is calibrated (README).
  REUSEID_FACE_THRESHOLD: z.coerce.number().gt(0).max(1).default(DEFAULT_FACE_THRESHOLD),
  REUSEID_FACE_WORKERS: z.coerce.number().int().min(1).max(32).optional(),
  // At least 1: a comparison of two images submits two jobs at once.
  REUSEID_FACE_QUEUE: z.coerce.number().int().min(1).max(1000).default(8),
  REUSEID_FACE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  // Refused ReadID uploads (unreadable files, 422s) a transaction may have before it ends Failed.
  REUSEID_READID_MAX_FAILED_UPLOADS: z.coerce.number().int().min(1).default(10),
  // Retention (README "Retention"), in days after a transaction (or a webhook delivery) ended; accounts may override.
  REUSEID_RETENTION_EVIDENCE_DAYS: retentionDays(DEFAULT_RETENTION.evidenceDays, MAX_RETENTION_DAYS.evidenceDays),
  REUSEID_RETENTION_TRANSACTIONS_DAYS: retentionDays(DEFAULT_RETENTION.transactionsDays, MAX_RETENTION_DAYS.transactionsDays),
  REUSEID_RETENTION_DELIVERIES_DAYS: retentionDays(DEFAULT_RETENTION.deliveriesDays, MAX_RETENTION_DAYS.deliveriesDays),
  REUSEID_RETENTION_INTERVAL_SECONDS: seconds(3600, 24 * 3600),
  // Credential issuance (README "The verified identity in a wallet").
  REUSEID_CREDENTIAL_LIFETIME_DAYS: z.coerce.number().int().min(1).max(1825).default(365),
  REUSEID_CREDENTIAL_OFFER_SECONDS: seconds(600, 24 * 3600),
  REUSEID_CREDENTIAL_KEY_ROTATION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  REUSEID_CREDENTIAL_MINIMUM_ASSURANCE: z.enum(ASSURANCE_LEVELS).default('substantial'),
  REUSEID_CREDENTIAL_REVOKE_ON_DEVICE_LOCK: booleanFromEnv.default(true),
  NODE_ENV: z.string().optional(),
});

export type Config = {
  port: number;
  host: string;
  databaseUrl: string;
  /** PostgreSQL connections per instance. */
  databasePoolSize: number;
  /** PostgreSQL: run the hot statements as named statements (store/prepared.ts). */
  databaseNamedStatements: boolean;
  /** Where the rate counters live instead of the database (null: in the database), and the prefix of their keys. */
  redis: { url: string | null; keyPrefix: string };
  /** Base URL under which RPs and devices reach this server; the OAuth issuer and the token audience. */
  publicUrl: string;
  masterKey?: string;
  masterKeyFile?: string;
  sandbox: boolean;
  logLevel: string;
  /** Fastify's trustProxy: how many proxy hops, or which proxy addresses, X-Forwarded-For is believed for. */
  trustProxy: number | string[];
  bodyLimitBytes: number;
  activation: {
    codeLength: number;
    codeTtlSeconds: number;
    failureWindowSeconds: number;
    maxFailuresGlobal: number;
    maxFailuresPerSource: number;
  };
  transactionTtlSeconds: number;
  stepUpApprovalTtlSeconds: number;
  deviceProofMaxAgeSeconds: number;
  signingKeyRotationDays: number;
  sweepIntervalSeconds: number;
  /** On SIGTERM, how long readiness fails while requests are still served, before the server stops taking them. */
  shutdownGraceSeconds: number;
  /** Requests per minute. */
  rateLimits: { tokenPerClient: number; tokenPerSource: number; devicePerDevice: number; deviceFailuresPerSource: number; activationPerSource: number };
  /** Device request bodies in flight at once in this process, per device and in total (beyond: 429 / 503). */
  deviceUploads: { perDevice: number; total: number };
  webhooks: {
    /** Admit http and non-public addresses as webhook targets (never in production). */
    allowPrivate: boolean;
    /** How long the previous secret keeps signing after a rotation. */
    secretOverlapSeconds: number;
    pollIntervalMs: number;
    /** A delivery claimed by an instance that died is picked up by another one after this long. */
    leaseSeconds: number;
  };
  readid: {
    /** Where the CSCA trust anchors are read from at start; null trusts no CSCA (every document is rejected). */
    trustStore: string | null;
    /** A document already bound to another user of the account: refuse the proofing, or accept and audit it. */
    duplicateDocument: 'reject' | 'allow';
    /** Refused uploads (400/422) after which the transaction ends Failed with `too_many_failed_uploads`. */
    maxFailedUploads: number;
    /**
     * `required`: an upload without a selfie is refused. `optional`: a proofing without one completes with no face
     * match (assurance level low): the document is proven, not the person holding it.
     */
    selfie: 'required' | 'optional';
  };
  faces: FaceSettings;
  /** The default retention periods (an account's own periods replace them: retention/policy.ts). */
  retention: RetentionPeriods & {
    /** How often each instance runs the retention job. */
    intervalSeconds: number;
  };
  credentials: CredentialSettings;
};

export interface CredentialSettings {
  /** The longest validity of an issued credential; never beyond the document's expiry. */
  lifetimeDays: number;
  /** How long a credential offer (its pre-authorized code) can be redeemed. */
  offerSeconds: number;
  keyRotationDays: number;
  /** The lowest assurance level of a proofing whose identity is issued as a credential. */
  minimumAssurance: AssuranceLevel;
  /** Whether locking or deactivating a user's device by the RP revokes the user's credentials. */
  revokeOnDeviceLock: boolean;
}

export interface FaceSettings {
  /** Similarity (1 - descriptor distance) at and above which two faces match. */
  threshold: number;
  /** Worker threads running the face model. */
  workers: number;
  /** Jobs (one per image) that may wait for a worker; one more is refused with 503. */
  queue: number;
  /** Time limit of one job, from when a worker takes it. */
  timeoutMs: number;
}

export class ConfigError extends Error {}

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Record<keyof z.input<typeof ConfigSchema>, string>> = {},
): Config {
  const merged = { ...pickDefined(env), ...pickDefined(overrides) };
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  // In sandbox mode any device states its own proofing outcome: a production deployment must never start that way.
  if (c.REUSEID_SANDBOX && c.NODE_ENV === 'production') {
    throw new ConfigError(
      'Invalid configuration:\n  REUSEID_SANDBOX: sandbox mode lets any device state its own proofing outcome; refused with NODE_ENV=production',
    );
  }
  const retention = {
    evidenceDays: c.REUSEID_RETENTION_EVIDENCE_DAYS,
    transactionsDays: c.REUSEID_RETENTION_TRANSACTIONS_DAYS,
    deliveriesDays: c.REUSEID_RETENTION_DELIVERIES_DAYS,
  };
  const retentionInvalid = retentionProblem(retention);
  if (retentionInvalid) throw new ConfigError(`Invalid configuration:\n  REUSEID_RETENTION_EVIDENCE_DAYS: ${retentionInvalid}`);
  const publicUrl = (c.REUSEID_PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '');
  return {
    port: c.PORT,
    host: c.HOST,
    databaseUrl: c.REUSEID_DATABASE_URL,
    databasePoolSize: c.REUSEID_DATABASE_POOL_SIZE,
    databaseNamedStatements: c.REUSEID_DATABASE_NAMED_STATEMENTS,
    redis: { url: c.REUSEID_REDIS_URL ?? null, keyPrefix: c.REUSEID_REDIS_KEY_PREFIX },
    publicUrl,
    masterKey: c.REUSEID_MASTER_KEY,
    masterKeyFile: c.REUSEID_MASTER_KEY_FILE,
    sandbox: c.REUSEID_SANDBOX,
    logLevel: c.REUSEID_LOG_LEVEL,
    trustProxy: c.REUSEID_TRUST_PROXY,
    bodyLimitBytes: c.REUSEID_BODY_LIMIT_BYTES,
    activation: {
      codeLength: c.REUSEID_ACTIVATION_CODE_LENGTH,
      codeTtlSeconds: c.REUSEID_ACTIVATION_CODE_TTL_SECONDS,
      failureWindowSeconds: c.REUSEID_ACTIVATION_FAILURE_WINDOW_SECONDS,
      maxFailuresGlobal: c.REUSEID_ACTIVATION_MAX_FAILURES_GLOBAL,
      maxFailuresPerSource: c.REUSEID_ACTIVATION_MAX_FAILURES_PER_SOURCE,
    },
    transactionTtlSeconds: c.REUSEID_TRANSACTION_TTL_SECONDS,
    stepUpApprovalTtlSeconds: c.REUSEID_STEPUP_APPROVAL_TTL_SECONDS,
    deviceProofMaxAgeSeconds: c.REUSEID_DEVICE_PROOF_MAX_AGE_SECONDS,
    signingKeyRotationDays: c.REUSEID_SIGNING_KEY_ROTATION_DAYS,
    sweepIntervalSeconds: c.REUSEID_SWEEP_INTERVAL_SECONDS,
    shutdownGraceSeconds: c.REUSEID_SHUTDOWN_GRACE_SECONDS,
    rateLimits: {
      tokenPerClient: c.REUSEID_RATE_LIMIT_TOKEN_PER_CLIENT,
      tokenPerSource: c.REUSEID_RATE_LIMIT_TOKEN_PER_SOURCE,
      devicePerDevice: c.REUSEID_RATE_LIMIT_DEVICE_PER_DEVICE,
      deviceFailuresPerSource: c.REUSEID_RATE_LIMIT_DEVICE_FAILURES_PER_SOURCE,
      activationPerSource: c.REUSEID_RATE_LIMIT_ACTIVATION_PER_SOURCE,
    },
    deviceUploads: { perDevice: c.REUSEID_DEVICE_UPLOADS_PER_DEVICE, total: c.REUSEID_DEVICE_UPLOADS_TOTAL },
    webhooks: {
      allowPrivate: c.REUSEID_WEBHOOK_ALLOW_PRIVATE,
      secretOverlapSeconds: c.REUSEID_WEBHOOK_SECRET_OVERLAP_SECONDS,
      pollIntervalMs: c.REUSEID_WEBHOOK_POLL_INTERVAL_MS,
      leaseSeconds: c.REUSEID_WEBHOOK_LEASE_SECONDS,
    },
    readid: {
      // The default folder (where `reuseid trust import` writes) is optional; a path that was set must exist.
      trustStore: c.REUSEID_TRUST_STORE ?? (existsSync(DEFAULT_TRUST_STORE) ? DEFAULT_TRUST_STORE : null),
      duplicateDocument: c.REUSEID_READID_DUPLICATE_DOCUMENT,
      maxFailedUploads: c.REUSEID_READID_MAX_FAILED_UPLOADS,
      selfie: c.REUSEID_READID_SELFIE,
    },
    faces: {
      threshold: c.REUSEID_FACE_THRESHOLD,
      workers: c.REUSEID_FACE_WORKERS ?? defaultFaceWorkers(),
      queue: c.REUSEID_FACE_QUEUE,
      timeoutMs: c.REUSEID_FACE_TIMEOUT_MS,
    },
    retention: { ...retention, intervalSeconds: c.REUSEID_RETENTION_INTERVAL_SECONDS },
    credentials: {
      lifetimeDays: c.REUSEID_CREDENTIAL_LIFETIME_DAYS,
      offerSeconds: c.REUSEID_CREDENTIAL_OFFER_SECONDS,
      keyRotationDays: c.REUSEID_CREDENTIAL_KEY_ROTATION_DAYS,
      minimumAssurance: c.REUSEID_CREDENTIAL_MINIMUM_ASSURANCE,
      revokeOnDeviceLock: c.REUSEID_CREDENTIAL_REVOKE_ON_DEVICE_LOCK,
    },
  };
}

function pickDefined(source: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
