import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import type { Tx } from '../store/database.js';
import type { ApiClient } from './clients.js';
import { isPermission, SIGNICAT_API_SCOPE, type Permission } from './permissions.js';
import { requestSource } from '../security/source-prefix.js';
import { PRE_AUTHORIZED_CODE_GRANT } from '../credentials/metadata.js';

/**
 * POST /auth/open/connect/token: OAuth 2.0 client credentials (RFC 6749 §4.4), with client_secret_basic or
 * client_secret_post; and, for wallets, the pre-authorized code grant of OpenID4VCI (credentials/offers.ts). Errors
 * follow RFC 6749 §5.2. Every issuance and refusal is audited.
 */
export const TOKEN_PATH = '/auth/open/connect/token';

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly basicChallenge = false,
  ) {
    super(description);
  }
}

interface Credentials {
  clientId: string;
  clientSecret: string;
  method: 'client_secret_basic' | 'client_secret_post';
}

/** What the token endpoint uses. */
export type TokenEndpointDeps = Pick<AppContext, 'config' | 'store' | 'clientAuthenticator' | 'tokens' | 'audit' | 'rateLimiter' | 'credentialOffers'>;

export function registerTokenEndpoint(app: FastifyInstance, ctx: TokenEndpointDeps): void {
  app.post(TOKEN_PATH, { schema: { hide: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    let credentials: Credentials | undefined;
    try {
      if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
        throw new OAuthError(400, 'invalid_request', 'The token request must be application/x-www-form-urlencoded');
      }
      if (body.grant_type === PRE_AUTHORIZED_CODE_GRANT) return await redeemCredentialOffer(ctx, request, reply, body);
      credentials = readCredentials(request, body);
      const grantType = single(body, 'grant_type');
      if (!grantType) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
      if (grantType !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', 'Only client_credentials is supported');
      const client = await ctx.clientAuthenticator.authenticate(ctx.store.db, credentials.clientId, credentials.clientSecret);
      if (!client) throw new OAuthError(401, 'invalid_client', 'Client authentication failed', credentials.method === 'client_secret_basic');
      const permissions = grantedPermissions(client, single(body, 'scope'));
      // Counted before any work, in a statement of its own: inside the unit of work below, the client's counter row
      // stayed locked until the audit item committed, and a client's token requests ran one at a time.
      await limitIssuedTokens(ctx, request, client.clientId);
      // Signed before its audit item is committed (tokens.ts signs on this thread, in about 50 µs); the token is only
      // handed out once that commit is done.
      const token = await ctx.tokens.issue(ctx.store.db, client, permissions);
      // Committed with the items of the tokens issued at the same moment: one insert and one commit for them all.
      await ctx.audit.appendCommitted(ctx.store, {
        accountId: client.accountId,
        eventType: 'token.issued',
        message: 'Access token issued',
        clientId: client.clientId,
        traceId: request.id,
        ipAddress: request.ip,
        data: { scope: token.scope, expiresIn: token.expiresIn },
      });
      return reply
        .header('Cache-Control', 'no-store')
        .header('Pragma', 'no-cache')
        .send({ access_token: token.token, token_type: 'Bearer', expires_in: token.expiresIn, scope: token.scope });
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      await limitRefusedTokenRequests(ctx, request, credentials?.clientId);
      await ctx.store.write((trx) => auditRefusal(ctx, trx, request, credentials?.clientId, error));
      return sendOAuthError(reply, error);
    }
  });
}

/**
 * A wallet redeems a credential offer: no client authentication (anonymous access, OpenID4VCI §6.1), the
 * pre-authorized code and the transaction code instead. Counted per source before any work, as every token request;
 * a wrong transaction code also counts against its offer (offers.ts), and the outcome is audited in the offer's account.
 */
async function redeemCredentialOffer(
  ctx: TokenEndpointDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  body: Record<string, unknown>,
): Promise<FastifyReply> {
  await ctx.rateLimiter.enforce('token:source', ctx.config.rateLimits.tokenPerSource, requestSource(request.ip));
  const code = single(body, 'pre-authorized_code');
  if (!code) throw new OAuthError(400, 'invalid_request', 'pre-authorized_code is required');
  const txCode = single(body, 'tx_code');
  const result = await ctx.store.write(async (trx) => {
    const redemption = await ctx.credentialOffers.redeem(trx, code, txCode);
    await ctx.audit.append(trx, {
      accountId: redemption.grant?.accountId ?? null,
      eventType: redemption.ok ? 'credential.offer_redeemed' : 'token.refused',
      message: redemption.ok ? 'Credential offer redeemed by a wallet' : `Pre-authorized code refused: ${redemption.error}`,
      traceId: request.id,
      ipAddress: request.ip,
      userId: redemption.grant?.userId ?? null,
      data: redemption.ok
        ? { offerId: redemption.grant.offerId }
        : { error: redemption.error, reason: redemption.description, offerId: redemption.grant?.offerId },
    });
    return redemption;
  });
  if (!result.ok) return sendOAuthError(reply, new OAuthError(400, result.error, result.description));
  return reply
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .send({ access_token: result.accessToken, token_type: 'Bearer', expires_in: result.expiresIn });
}

/** Per source, and per client once its secret verified: only the client itself can spend its own budget. */
async function limitIssuedTokens(ctx: TokenEndpointDeps, request: FastifyRequest, clientId: string): Promise<void> {
  await ctx.rateLimiter.enforceAll([
    { rule: 'token:source', perMinute: ctx.config.rateLimits.tokenPerSource, key: requestSource(request.ip) },
    { rule: 'token:client', perMinute: ctx.config.rateLimits.tokenPerClient, key: clientId },
  ]);
}

/**
 * Per source, and per presented client id from that source: guessing a secret is bounded, yet a stranger who knows a
 * client id spends only the budget of its own address, never the one the client needs to get tokens.
 */
async function limitRefusedTokenRequests(ctx: TokenEndpointDeps, request: FastifyRequest, clientId: string | undefined): Promise<void> {
  await ctx.rateLimiter.enforce('token:source', ctx.config.rateLimits.tokenPerSource, requestSource(request.ip));
  const key = clientId === undefined ? undefined : `${requestSource(request.ip)}:${clientId.slice(0, 200)}`;
  // A bound on guessing a client's secret: it must hold even while Redis is down (see LimitPurpose).
  await ctx.rateLimiter.enforce('token:client-failures', ctx.config.rateLimits.tokenPerClient, key, 'guessing');
}

function readCredentials(request: FastifyRequest, body: Record<string, unknown>): Credentials {
  const authorization = request.headers.authorization;
  const postId = single(body, 'client_id');
  const postSecret = single(body, 'client_secret');
  if (authorization?.toLowerCase().startsWith('basic ')) {
    if (postSecret) throw new OAuthError(400, 'invalid_request', 'Use one client authentication method, not two');
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    if (separator < 1) throw new OAuthError(401, 'invalid_client', 'Malformed Basic credentials', true);
    try {
      // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
      const clientId = decodeURIComponent(decoded.slice(0, separator).replace(/\+/g, ' '));
      const clientSecret = decodeURIComponent(decoded.slice(separator + 1).replace(/\+/g, ' '));
      return { clientId, clientSecret, method: 'client_secret_basic' };
    } catch {
      throw new OAuthError(401, 'invalid_client', 'Malformed Basic credentials', true);
    }
  }
  if (postId && postSecret) return { clientId: postId, clientSecret: postSecret, method: 'client_secret_post' };
  throw new OAuthError(401, 'invalid_client', 'Client authentication is required', true);
}

/** "signicat-api" (or no scope) grants every permission of the client; named permissions must all be held. */
function grantedPermissions(client: ApiClient, scope: string | undefined): Permission[] {
  const requested = (scope ?? '').split(' ').filter(Boolean);
  if (requested.length === 0 || requested.every((s) => s === SIGNICAT_API_SCOPE)) return client.permissions;
  const named = requested.filter((s) => s !== SIGNICAT_API_SCOPE);
  const refused = named.filter((s) => !isPermission(s) || !client.permissions.includes(s));
  if (refused.length) throw new OAuthError(400, 'invalid_scope', `Scope not allowed for this client: ${refused.join(' ')}`);
  return named as Permission[];
}

function single(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new OAuthError(400, 'invalid_request', `${name} must be given once`);
  return value;
}

async function auditRefusal(ctx: TokenEndpointDeps, trx: Tx, request: FastifyRequest, clientId: string | undefined, error: OAuthError): Promise<void> {
  const known =
    clientId && clientId.length <= 200 ? await trx.selectFrom('api_clients').select('account_id').where('id', '=', clientId).executeTakeFirst() : undefined;
  await ctx.audit.append(trx, {
    accountId: known?.account_id ?? null,
    eventType: 'token.refused',
    message: `Token request refused: ${error.error}`,
    clientId: known ? clientId : null,
    traceId: request.id,
    ipAddress: request.ip,
    data: { error: error.error, reason: error.description },
  });
}

function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  if (error.basicChallenge) reply.header('WWW-Authenticate', 'Basic realm="reuseid", charset="UTF-8"');
  return reply.status(error.status).header('Cache-Control', 'no-store').send({ error: error.error, error_description: error.description });
}
