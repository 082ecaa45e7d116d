import type { FastifyBaseLogger } from 'fastify';
import { loadTrustStore, TrustStore } from '../../../icao/index.js';

/**
 * The CSCA trust anchors, read once. `load` runs when the app gets ready, so that a trust store path that does not
 * exist stops the server at start instead of failing every upload later.
 */
export class TrustAnchors {
  private loading?: Promise<TrustStore>;

  constructor(private readonly path: string | null) {}

  get(): Promise<TrustStore> {
    this.loading ??= this.path === null ? Promise.resolve(new TrustStore()) : loadTrustStore(this.path);
    return this.loading;
  }

  async load(log: FastifyBaseLogger): Promise<void> {
    const store = await this.get();
    const summary = { trustStore: this.path, cscas: store.certificates.length, masterLists: store.masterLists.length };
    for (const problem of store.problems) log.warn({ source: problem.source, code: problem.code }, `readid trust store: skipped a file: ${problem.message}`);
    if (summary.cscas === 0) log.warn(summary, 'readid trust store has no CSCA: every document will fail chip verification');
    else log.info(summary, 'readid trust store loaded');
  }
}
