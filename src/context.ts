import { AuditLog } from './audit/log.js';
import { AuditSequencer } from './audit/sequencer.js';
import type { Config } from './config.js';
import { CredentialIssuer } from './credentials/issuance.js';
import { CNonces } from './credentials/nonces.js';
import { CredentialOffers } from './credentials/offers.js';
import { CredentialRegistry } from './credentials/registry.js';
import { ActivationService } from './devices/activation.js';
import { DeviceOperations } from './devices/operations.js';
import { DeviceTransactions } from './devices/transaction-access.js';
import { EvidenceStore } from './dossier/evidence.js';
import { createFaceMatcher, type FaceEngine } from './faces/matcher.js';
import { Outbox } from './events/outbox.js';
import { createWebhooks, type Webhooks } from './events/webhooks.js';
import { FlowStarter } from './flows/start.js';
import { FlowStateMachine } from './flows/state.js';
import type { VerifyToken } from './http/auth.js';
import { RateLimiter } from './http/rate-limit.js';
import { UserStore } from './identity/users.js';
import { ReferenceFaces } from './identity/reference-faces.js';
import { ClientAuthenticator } from './oauth/client-authenticator.js';
import { ClientStore } from './oauth/clients.js';
import { SigningKeys } from './oauth/signing-keys.js';
import { AccessTokens } from './oauth/tokens.js';
import type { ProofingPort } from './proofing/provider.js';
import { readIdProvider } from './proofing/providers/readid/index.js';
import { sandboxProvider } from './proofing/providers/sandbox/index.js';
import { videoIdProvider } from './proofing/providers/videoid/index.js';
import { ProviderRegistry } from './proofing/registry.js';
import { ProofingService } from './proofing/service.js';
import { RetentionPolicies } from './retention/policy.js';
import { Keyring, type DataCipher } from './security/keyring.js';
import { type CounterLog, createRateCounters } from './security/counter-backends.js';
import type { RateCounters } from './security/rate-counters.js';
import type { Db, Store } from './store/database.js';
import { cryptoRandom, systemClock, type Clock, type RandomSource } from './shared/runtime.js';

/**
 * The composition root: every service, built once per process in dependency order. Services and providers never see
 * this object: each declares the few collaborators it uses, and the routes (the HTTP edge, wired in app.ts) take the
 * slice they need. Tests read it to reach into the services.
 */
export interface AppContext {
  config: Config;
  store: Store;
  db: Db;
  clock: Clock;
  random: RandomSource;
  keyring: Keyring;
  /** Seals server-owned secrets and stored responses (idempotency, cursors, webhook secrets). */
  cipher: DataCipher;
  audit: AuditLog;
  /** Chains appended audit items; started by the server, flushed by tests with `sequenceNow()`. */
  auditSequencer: AuditSequencer;
  outbox: Outbox;
  webhooks: Webhooks;
  clients: ClientStore;
  /** The token endpoint's client authentication: remembers a client that authenticated for a few seconds. */
  clientAuthenticator: ClientAuthenticator;
  keys: SigningKeys;
  tokens: AccessTokens;
  verifyToken: VerifyToken;
  /** The shared rate counters every limit counts in (database, or Redis when configured). Closed with the app. */
  rateCounters: RateCounters;
  rateLimiter: RateLimiter;
  users: UserStore;
  /** Face matching in worker threads, started on first use; closed with the app. */
  faces: FaceEngine;
  /** The enrolled reference face of each user. */
  referenceFaces: ReferenceFaces;
  evidence: EvidenceStore;
  flows: FlowStateMachine;
  proofing: ProofingService;
  providers: ProviderRegistry;
  deviceTransactions: DeviceTransactions;
  deviceOperations: DeviceOperations;
  activation: ActivationService;
  starter: FlowStarter;
  /** Each account's retention periods, over the configured defaults. */
  retentionPolicies: RetentionPolicies;
  /** The credential issuer's signing keys (apart from the access-token keys), published at /.well-known/jwt-vc-issuer. */
  credentialKeys: SigningKeys;
  cNonces: CNonces;
  credentialOffers: CredentialOffers;
  credentialRegistry: CredentialRegistry;
  credentialIssuer: CredentialIssuer;
}

export function createContext(options: {
  config: Config;
  store: Store;
  masterKey: Buffer;
  clock?: Clock;
  random?: RandomSource;
  /** Where the rate counters report a Redis outage and its end (the server's logger). */
  log?: CounterLog;
}): AppContext {
  const { config, store } = options;
  const { db } = store;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const keyring = new Keyring(options.masterKey);
  const cipher = keyring.serverCipher();
  const audit = new AuditLog({ clock, random });
  const outbox = new Outbox({ clock, random, cipher });
  const keys = new SigningKeys({
    clock,
    cipher,
    purpose: 'access-token',
    rotationMs: config.signingKeyRotationDays * DAY_MS,
    maxSignedLifetimeMs: 3600 * 1000,
  });
  const tokens = new AccessTokens({ clock, random, keys, issuer: config.publicUrl, audience: config.publicUrl });
  const users = new UserStore({ clock, random, keyring });
  const faces = createFaceMatcher(config.faces);
  const referenceFaces = new ReferenceFaces({ users });
  const evidence = new EvidenceStore({ clock, random });
  const flows = new FlowStateMachine({ clock, audit, outbox, users });
  const credentials = createCredentialServices({ config, store, clock, random, keyring, cipher, audit, outbox, users });
  const proofing = new ProofingService({ write: store.write, clock, users, evidence, flows, audit, credentials: credentials.credentialRegistry });
  const providers = new ProviderRegistry(config.sandbox);
  const deviceTransactions = new DeviceTransactions({ db, clock, config, providers });
  const rateCounters = createRateCounters({ store, clock, redis: config.redis, log: options.log });
  const core = {
    config,
    store,
    clock,
    random,
    keyring,
    audit,
    outbox,
    users,
    faces,
    referenceFaces,
    evidence,
    flows,
    proofing,
    providers,
    deviceTransactions,
    rateCounters,
  };
  const deviceOperations = new DeviceOperations(core);
  registerProviders(
    providers,
    {
      deviceTransaction: (device, id) => deviceTransactions.find(device, id),
      deviceView: (tx) => deviceTransactions.view(tx),
      decide: (...args) => proofing.decide(...args),
    },
    core,
  );
  const clients = new ClientStore({ clock });
  return {
    ...core,
    db,
    cipher,
    auditSequencer: new AuditSequencer({ store, clock }),
    webhooks: createWebhooks({ store, clock, random, cipher, audit, outbox, config: config.webhooks }),
    clients,
    clientAuthenticator: new ClientAuthenticator({ clients, clock }),
    keys,
    tokens,
    verifyToken: (token) => tokens.verify(db, token),
    rateLimiter: new RateLimiter({ counters: rateCounters, clock }),
    deviceOperations,
    activation: new ActivationService(core),
    starter: new FlowStarter({ ...core, deviceOperations }),
    retentionPolicies: new RetentionPolicies({ clock, defaults: config.retention }),
    ...credentials,
  };
}

/** The OpenID4VCI credential issuer's services. */
function createCredentialServices(deps: {
  config: Config;
  store: Store;
  clock: Clock;
  random: RandomSource;
  keyring: Keyring;
  cipher: DataCipher;
  audit: AuditLog;
  outbox: Outbox;
  users: UserStore;
}) {
  const { config, store, clock, random, keyring, audit, outbox, users } = deps;
  const settings = config.credentials;
  const issuer = config.publicUrl;
  const credentialKeys = new SigningKeys({
    clock,
    cipher: deps.cipher,
    purpose: 'credential',
    rotationMs: settings.keyRotationDays * DAY_MS,
    maxSignedLifetimeMs: settings.lifetimeDays * DAY_MS,
  });
  const cNonces = new CNonces({ clock, random, keyring });
  const credentialOffers = new CredentialOffers({ clock, random, keyring, offerSeconds: settings.offerSeconds });
  const credentialRegistry = new CredentialRegistry({ clock, random, audit, outbox, keys: credentialKeys, issuer });
  const credentialIssuer = new CredentialIssuer({
    store,
    clock,
    users,
    offers: credentialOffers,
    registry: credentialRegistry,
    nonces: cNonces,
    keys: credentialKeys,
    audit,
    outbox,
    settings,
    issuer,
  });
  return { credentialKeys, cNonces, credentialOffers, credentialRegistry, credentialIssuer };
}

const DAY_MS = 24 * 3600 * 1000;

/** The proofing providers this server runs: one line each. */
function registerProviders(
  registry: ProviderRegistry,
  port: ProofingPort,
  services: Parameters<typeof readIdProvider>[1] & { config: Pick<Config, 'sandbox'> },
): void {
  registry.register(videoIdProvider(port, services));
  registry.register(readIdProvider(port, services));
  if (services.config.sandbox) registry.register(sandboxProvider(port));
}
