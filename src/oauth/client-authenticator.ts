import { safeEqual, sha256Hex } from '../security/keyring.js';
import type { Clock } from '../shared/runtime.js';
import type { Executor } from '../store/database.js';
import type { ApiClient, ClientStore } from './clients.js';

/** How long a client that authenticated is taken at its word without reading its row again. */
export const CLIENT_RECHECK_MS = 5_000;
const REMEMBERED_LIMIT = 10_000;

/**
 * Client authentication for the token endpoint. A busy RP asks for tokens all the time with the same client; reading
 * its row for each was a database round trip per token (a third of the statements of a token on PostgreSQL, issue 11).
 * A client that authenticated is remembered for CLIENT_RECHECK_MS with its secret's hash, so during that time a
 * request with the same secret needs no read.
 *
 * Only successes are remembered, and anything but the remembered secret goes to the database: a wrong secret, a new
 * secret after a rotation, a re-enabled client are answered exactly, and an attacker cannot fill the memory without
 * a client's secret. The price, documented: a client disabled, deleted or rotated (by the CLI, another process) keeps
 * getting tokens with its old secret for up to 5 s on instances that served it just before, which is small beside the
 * token lifetime its already-issued tokens live out anyway.
 */
export class ClientAuthenticator {
  private readonly remembered = new Map<string, { client: ApiClient; secretHash: string; until: number }>();

  constructor(private readonly deps: { clients: Pick<ClientStore, 'authenticate'>; clock: Clock }) {}

  async authenticate(executor: Executor, clientId: string, clientSecret: string): Promise<ApiClient | null> {
    const now = this.deps.clock.now();
    const known = this.remembered.get(clientId);
    if (known && now < known.until && safeEqual(sha256Hex(clientSecret), known.secretHash)) return known.client;
    const client = await this.deps.clients.authenticate(executor, clientId, clientSecret);
    if (!client) {
      this.remembered.delete(clientId);
      return null;
    }
    if (this.remembered.size >= REMEMBERED_LIMIT) this.remembered.clear();
    this.remembered.set(clientId, { client, secretHash: sha256Hex(clientSecret), until: now + CLIENT_RECHECK_MS });
    return client;
  }
}
