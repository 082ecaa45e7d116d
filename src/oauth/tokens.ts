import { decodeProtectedHeader, jwtVerify, errors as joseErrors } from 'jose';
import type { Executor } from '../store/database.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { ApiClient } from './clients.js';
import { isPermission, type Permission } from './permissions.js';
import { signJwt, TOKEN_ALG, type SigningKeys } from './signing-keys.js';

/** The caller of an RP API request, established from its access token. */
export interface Principal {
  clientId: string;
  accountId: string;
  permissions: Permission[];
  tokenId: string;
}

export class TokenRejected extends Error {}

const VERIFIED_TOKENS_LIMIT = 10_000;
const MAX_KID_LENGTH = 100;

/**
 * JWT access tokens in the RFC 9068 profile. The account travels in the token, so that a resource request needs no
 * database read to know its tenant; a disabled client's tokens live at most their (short) lifetime.
 */
export class AccessTokens {
  constructor(private readonly deps: { clock: Clock; random: RandomSource; keys: SigningKeys; issuer: string; audience: string }) {}

  async issue(executor: Executor, client: ApiClient, permissions: Permission[]): Promise<{ token: string; expiresIn: number; scope: string }> {
    const key = await this.deps.keys.signingKey(executor);
    const nowSeconds = Math.floor(this.deps.clock.now() / 1000);
    const scope = permissions.join(' ');
    const token = signJwt(
      { alg: TOKEN_ALG, typ: 'at+jwt', kid: key.kid },
      {
        client_id: client.clientId,
        scope,
        account_id: client.accountId,
        iss: this.deps.issuer,
        aud: this.deps.audience,
        sub: client.clientId,
        jti: this.deps.random.uuid(),
        iat: nowSeconds,
        exp: nowSeconds + client.tokenTtlSeconds,
      },
      key.privateKey,
    );
    return { token, expiresIn: client.tokenTtlSeconds, scope };
  }

  /**
   * RPs reuse a token for its whole lifetime (Signicat advises caching them), so the outcome of verifying its
   * signature is remembered for the exact token string until it expires; expiry is still checked on every use.
   */
  private readonly verified = new Map<string, { principal: Principal; expiresAtMs: number }>();

  /**
   * A remembered token's principal comes back as it is, without a promise: the bearer guard then admits the request
   * in the same tick (requirePermission), which is most requests of a busy RP.
   */
  verify(executor: Executor, token: string): Principal | Promise<Principal> {
    const remembered = this.verified.get(token);
    if (remembered) {
      if (this.deps.clock.now() < remembered.expiresAtMs) return remembered.principal;
      this.verified.delete(token);
    }
    return this.verifyAndRemember(executor, token);
  }

  private async verifyAndRemember(executor: Executor, token: string): Promise<Principal> {
    const { principal, expiresAtMs } = await this.verifySignedToken(executor, token);
    if (this.verified.size >= VERIFIED_TOKENS_LIMIT) this.verified.clear();
    this.verified.set(token, { principal, expiresAtMs });
    return principal;
  }

  private async verifySignedToken(executor: Executor, token: string): Promise<{ principal: Principal; expiresAtMs: number }> {
    let kid: string;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== TOKEN_ALG || header.typ !== 'at+jwt') throw new TokenRejected('unexpected token type or algorithm');
      // The header is attacker-chosen JSON: only a string of plausible length may reach the key lookup (the database).
      if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > MAX_KID_LENGTH) throw new TokenRejected('malformed key id');
      kid = header.kid;
    } catch (error) {
      if (error instanceof TokenRejected) throw error;
      throw new TokenRejected('malformed token');
    }
    const key = await this.deps.keys.verificationKey(executor, kid);
    if (!key) throw new TokenRejected('unknown signing key');
    try {
      const { payload } = await jwtVerify(token, key, {
        issuer: this.deps.issuer,
        audience: this.deps.audience,
        algorithms: [TOKEN_ALG],
        typ: 'at+jwt',
        currentDate: new Date(this.deps.clock.now()),
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      });
      const accountId = payload.account_id;
      const scope = payload.scope;
      if (typeof accountId !== 'string' || typeof scope !== 'string' || typeof payload.client_id !== 'string') throw new TokenRejected('missing claims');
      return {
        principal: { clientId: payload.client_id, accountId, permissions: scope.split(' ').filter(isPermission), tokenId: payload.jti! },
        expiresAtMs: payload.exp! * 1000,
      };
    } catch (error) {
      if (error instanceof TokenRejected) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new TokenRejected('token expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed) throw new TokenRejected(`claim ${error.claim} rejected`);
      throw new TokenRejected('signature or format invalid');
    }
  }
}
