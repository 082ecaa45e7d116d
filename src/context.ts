import { AuditLog } from './audit/log.js';
import type { Config } from './config.js';
import { DeviceOperations } from './devices/operations.js';
import { EvidenceStore } from './dossier/evidence.js';
import { Outbox } from './events/outbox.js';
import { createWebhooks, type Webhooks } from './events/webhooks.js';
import { FlowStateMachine } from './flows/state.js';
import { UserStore } from './identity/users.js';
import { ClientStore } from './oauth/clients.js';
import { SigningKeys } from './oauth/signing-keys.js';
import { AccessTokens } from './oauth/tokens.js';
import { readIdProvider } from './proofing/providers/readid/index.js';
import { sandboxProvider } from './proofing/providers/sandbox/index.js';
import { videoIdProvider } from './proofing/providers/videoid/index.js';
import { ProviderRegistry } from './proofing/registry.js';
import { ProofingService } from './proofing/service.js';
import { Keyring } from './security/keyring.js';
import type { Store } from './store/database.js';
import { cryptoRandom, systemClock, type Clock, type RandomSource } from './shared/runtime.js';

/** Everything a request handler or worker needs, built once per process: the composition root. */
export interface AppContext {
  config: Config;
  store: Store;
  clock: Clock;
  random: RandomSource;
  keyring: Keyring;
  audit: AuditLog;
  outbox: Outbox;
  webhooks: Webhooks;
  clients: ClientStore;
  keys: SigningKeys;
  tokens: AccessTokens;
  users: UserStore;
  evidence: EvidenceStore;
  flows: FlowStateMachine;
  proofing: ProofingService;
  providers: ProviderRegistry;
  deviceOperations: DeviceOperations;
}

export function createContext(options: { config: Config; store: Store; masterKey: Buffer; clock?: Clock; random?: RandomSource }): AppContext {
  const { config, store } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const keyring = new Keyring(options.masterKey);
  const audit = new AuditLog({ clock, random, lockForUpdate: store.lockForUpdate });
  const outbox = new Outbox({ clock, random, cipher: keyring.serverCipher() });
  const keys = new SigningKeys({ clock, cipher: keyring.serverCipher(), rotationMs: config.signingKeyRotationDays * 24 * 3600 * 1000 });
  const users = new UserStore({ clock, random, keyring });
  const evidence = new EvidenceStore({ clock, random });
  const flows = new FlowStateMachine({ clock, audit, outbox, users });
  const ctx: AppContext = {
    config,
    store,
    clock,
    random,
    keyring,
    audit,
    outbox,
    webhooks: createWebhooks({ store, clock, random, cipher: keyring.serverCipher(), audit, outbox, config: config.webhooks }),
    clients: new ClientStore({ clock }),
    keys,
    tokens: new AccessTokens({ clock, random, keys, issuer: config.publicUrl, audience: config.publicUrl }),
    users,
    evidence,
    flows,
    proofing: new ProofingService({ write: store.write, clock, users, evidence, flows, audit }),
    providers: new ProviderRegistry(config.sandbox),
    deviceOperations: undefined as unknown as DeviceOperations,
  };
  ctx.deviceOperations = new DeviceOperations(ctx);
  ctx.providers.register(videoIdProvider(ctx));
  ctx.providers.register(readIdProvider(ctx));
  if (config.sandbox) ctx.providers.register(sandboxProvider(ctx));
  return ctx;
}
