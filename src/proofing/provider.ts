import type { FastifyInstance } from 'fastify';
import type { Transaction } from '../flows/transaction.js';

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

/** Provider ids RPs may name, and the aliases that mean them. */
export const PROVIDER_ALIASES: Record<string, string> = {
  signicatvideoid: 'signicatvideoid',
  videoid: 'signicatvideoid',
  readid: 'readid',
  sandbox: 'sandbox',
};
