import { invalidResponse, parseJson } from './errors.js';
import type { ClientClock, Transport } from './transport.js';

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) against the server's token endpoint, with client_secret_basic.
 * A token is reused until shortly before it expires — 10% of its lifetime, at most 30 s, early — and callers that
 * need one at the same moment share a single token request.
 */
const TOKEN_PATH = '/auth/open/connect/token';
const MAX_REFRESH_MARGIN_MS = 30_000;

export interface TokenCredentials {
  clientId: string;
  clientSecret: string;
  /** Space-separated permissions to ask for; absent: every permission the client holds. */
  scope?: string;
}

export class TokenSource {
  private cached?: { token: string; refreshAt: number };
  private pending?: Promise<string>;

  constructor(
    private readonly baseUrl: string,
    private readonly credentials: TokenCredentials,
    private readonly transport: Transport,
    private readonly clock: ClientClock,
  ) {}

  async get(): Promise<string> {
    if (this.cached && this.clock.now() < this.cached.refreshAt) return this.cached.token;
    this.pending ??= this.request().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets a token the server refused; a token fetched meanwhile by another call is kept. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async request(): Promise<string> {
    const requestedAt = this.clock.now();
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...(this.credentials.scope ? { scope: this.credentials.scope } : {}) });
    const response = await this.transport.exchange({
      method: 'POST',
      url: this.baseUrl + TOKEN_PATH,
      headers: { authorization: basicAuthorization(this.credentials), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      // Asking again only hands out another token.
      retryable: true,
    });
    const { token, expiresInMs } = readTokenResponse(response.status, parseJson(await response.text()));
    // Counted from before the request was sent, so the cached token never outlives the server's.
    this.cached = { token, refreshAt: requestedAt + expiresInMs - Math.min(MAX_REFRESH_MARGIN_MS, expiresInMs / 10) };
    return token;
  }
}

/** RFC 6749 §2.3.1: the id and the secret are form-urlencoded before they are joined and base64-encoded. */
function basicAuthorization({ clientId, clientSecret }: TokenCredentials): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

function readTokenResponse(status: number, body: unknown): { token: string; expiresInMs: number } {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { access_token: token, token_type: type, expires_in: expiresIn } = fields;
  if (typeof token !== 'string' || !token || typeof type !== 'string' || type.toLowerCase() !== 'bearer' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
    throw invalidResponse(status, 'The token endpoint did not answer with a bearer access token and its expires_in.');
  }
  return { token, expiresInMs: expiresIn * 1000 };
}
