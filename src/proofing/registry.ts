import type { Transaction } from '../flows/transaction.js';
import type { ProofingProvider } from './provider.js';

/** The process type the app is told for each provider (Signicat's names where they exist). */
const DEFAULT_PROCESS_TYPES: Record<string, string> = { signicatvideoid: 'high', readid: 'ready', sandbox: 'sandbox' };

/**
 * The providers this server runs. In sandbox mode the sandbox provider can stand in for any provider that is not
 * installed, so that RPs can run the seed's example (provider signicatvideoid) end to end without real proofing.
 */
export class ProviderRegistry {
  private readonly providers = new Map<string, ProofingProvider>();

  constructor(private readonly sandbox: boolean) {}

  register(provider: ProofingProvider): void {
    this.providers.set(provider.id, provider);
  }

  all(): ProofingProvider[] {
    return [...this.providers.values()];
  }

  /** Whether RPs may ask for this provider id. */
  isAvailable(id: string): boolean {
    return this.providers.has(id) || (this.sandbox && id in DEFAULT_PROCESS_TYPES);
  }

  forTransaction(tx: Transaction): Pick<ProofingProvider, 'processType' | 'deviceInstructions'> {
    const provider = this.providers.get(tx.provider);
    if (provider) return provider;
    return { processType: DEFAULT_PROCESS_TYPES[tx.provider] ?? 'sandbox', deviceInstructions: async () => ({}) };
  }
}
