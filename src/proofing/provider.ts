import type { FastifyInstance } from 'fastify';
import type { Device } from '../devices/device-store.js';
import type { DeviceTransaction } from '../devices/schemas.js';
import type { Transaction } from '../flows/transaction.js';
import type { AuditLog } from '../audit/log.js';
import type { EvidenceStore } from '../dossier/evidence.js';
import type { FaceMatcher } from '../faces/types.js';
import type { FlowStateMachine } from '../flows/state.js';
import type { ReferenceFaces } from '../identity/reference-faces.js';
import type { UserStore } from '../identity/users.js';
import type { Keyring } from '../security/keyring.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { Store } from '../store/database.js';
import type { ProofingService } from './service.js';

/**
 * A proofing provider plugs into the flow through this interface: it tells the app what to do (fields of the
 * post-operation context) and registers its own device endpoints, through which evidence arrives; it then asks the
 * ProofingService to decide. Adding a provider touches its folder and one line of the registry.
 */
export interface ProofingProvider {
  /** The id RPs use in `provider` and the app sees in `signicatOperation.provider`. */
  readonly id: string;
  readonly processType: string;
  /** Provider-specific fields the app needs to run the proofing (merged into `signicatOperation`). */
  deviceInstructions(tx: Transaction): Promise<Record<string, unknown>>;
  /** Registers the device endpoints under /device/v1/transactions/:transactionId/proofing/<id>. */
  registerDeviceRoutes(app: FastifyInstance): void;
}

/**
 * What a provider may ask of the rest of the server: the device's own transaction, the device's view of it after an
 * upload, and the decision. Everything else a provider needs (its tables, the clock) it is given by name.
 */
export interface ProofingPort {
  deviceTransaction(device: Device, transactionId: string): Promise<Transaction>;
  deviceView(tx: Transaction): Promise<DeviceTransaction>;
  decide: ProofingService['decide'];
}

/** The services a provider builds its own records on, given by name. */
export interface ProviderServices {
  store: Pick<Store, 'db' | 'write' | 'lockForUpdate'>;
  clock: Clock;
  random: RandomSource;
  keyring: Pick<Keyring, 'keyedHash'>;
  users: Pick<UserStore, 'find' | 'cipher'>;
  evidence: Pick<EvidenceStore, 'store' | 'find' | 'beginUpload' | 'storeStaged' | 'discardUpload'>;
  audit: Pick<AuditLog, 'append'>;
  flows: Pick<FlowStateMachine, 'transition'>;
  proofing: Pick<ProofingService, 'decide'>;
  /** Compares the person's face with the document's and with the enrolled reference. */
  faces: FaceMatcher;
  referenceFaces: Pick<ReferenceFaces, 'save' | 'find'>;
}
