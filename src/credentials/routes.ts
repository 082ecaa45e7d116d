import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { principalOf, requirePermission } from '../http/auth.js';
import { ErrorObjectSchema } from '../http/errors.js';
import { requestMeta } from '../http/request-meta.js';
import { errors } from '../shared/errors.js';
import { CredentialRequestError } from './errors.js';
import { CREDENTIAL_PATH, issuerMetadata, ISSUER_METADATA_PATH, JWT_VC_ISSUER_PATH, NONCE_PATH, STATUS_LIST_PATH } from './metadata.js';
import { STATUS_LIST_TTL_SECONDS } from './registry.js';
import { CredentialOfferSchema, CredentialRequestSchema, CredentialRevocationSchema, CredentialUserParams } from './schemas.js';

type CredentialRouteDeps = Pick<
  AppContext,
  'config' | 'store' | 'verifyToken' | 'users' | 'credentialIssuer' | 'credentialRegistry' | 'credentialKeys' | 'cNonces'
>;

/** The OpenID4VCI issuer (public, for wallets and verifiers): metadata, issuer keys, nonces, credentials, status lists. */
export async function credentialIssuerRoutes(app: FastifyInstance, ctx: CredentialRouteDeps): Promise<void> {
  const issuer = ctx.config.publicUrl;
  const cacheFor = (reply: FastifyReply, seconds: number) => reply.header('Cache-Control', `public, max-age=${seconds}`);

  app.get(ISSUER_METADATA_PATH, { schema: { hide: true } }, async (_request, reply) => cacheFor(reply, 300).send(issuerMetadata(issuer)));

  app.get(JWT_VC_ISSUER_PATH, { schema: { hide: true } }, async (_request, reply) =>
    cacheFor(reply, 300).send({ issuer, jwks: await ctx.credentialKeys.jwks(ctx.store.db) }),
  );

  app.post(NONCE_PATH, { schema: { hide: true } }, async (_request, reply) => reply.header('Cache-Control', 'no-store').send({ c_nonce: ctx.cNonces.issue() }));

  app.get<{ Params: { listId: string } }>(`${STATUS_LIST_PATH}/:listId`, { schema: { hide: true } }, async (request, reply) => {
    const token = await ctx.credentialRegistry.statusListToken(ctx.store.db, request.params.listId);
    if (!token) throw errors.routeNotFound(request.method, request.url);
    return cacheFor(reply, STATUS_LIST_TTL_SECONDS).type('application/statuslist+jwt').send(token);
  });

  // The credential endpoint answers in the OpenID4VCI vocabulary, a body that is not JSON included: it parses its own
  // body, leaving anything unreadable undefined for the handler to refuse as invalid_credential_request.
  await app.register(async (scoped) => {
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: CREDENTIAL_REQUEST_LIMIT }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(null, undefined);
      }
    });
    scoped.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    registerCredentialEndpoint(scoped, ctx);
  });
}

/** Proofs are a few hundred bytes; the limit leaves room for several, and for nothing else. */
const CREDENTIAL_REQUEST_LIMIT = 64 * 1024;

function registerCredentialEndpoint(app: FastifyInstance, ctx: CredentialRouteDeps): void {
  app.post(CREDENTIAL_PATH, { schema: { hide: true } }, async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    try {
      const body = CredentialRequestSchema.safeParse(request.body);
      const accessToken = bearerToken(request);
      if (!body.success)
        throw new CredentialRequestError(400, 'invalid_credential_request', 'The body must name credential_configuration_id and carry proofs.jwt');
      const credential = await ctx.credentialIssuer.issue(
        accessToken,
        { configurationId: body.data.credential_configuration_id, proofs: body.data.proofs.jwt },
        requestMeta(request),
      );
      return reply.send({ credentials: [{ credential }] });
    } catch (error) {
      if (error instanceof CredentialRequestError) return sendCredentialError(reply, error);
      throw error;
    }
  });
}

/** The RP's side (permission `reuseid-credentials`), under /reuseid. */
export async function credentialRpRoutes(base: FastifyInstance, ctx: CredentialRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const guard = requirePermission(ctx.verifyToken, 'reuseid-credentials');
  const security = [{ oauth2: ['reuseid-credentials'] }];

  app.post(
    '/users/:userId/credential-offers',
    {
      onRequest: guard,
      schema: {
        tags: ['Credentials'],
        summary: "Offer the user's verified identity as a credential for their wallet",
        description:
          'An OpenID4VCI credential offer with the pre-authorized code grant, for a live user whose identity was verified ' +
          '(REUSEID_CREDENTIAL_MINIMUM_ASSURANCE or above). Show `credentialOfferUri` to the user (as a link or QR code) ' +
          'and `txCode` through another channel. The offer is single-use and expires at `expiresAt`.',
        operationId: 'createCredentialOffer',
        security,
        params: CredentialUserParams,
        response: { 201: CredentialOfferSchema, 404: ErrorObjectSchema, 409: ErrorObjectSchema },
      },
    },
    async (request, reply) => {
      const { accountId, clientId } = principalOf(request);
      return reply.status(201).send(await ctx.credentialIssuer.offer({ accountId, clientId }, request.params.userId, requestMeta(request)));
    },
  );

  app.post(
    '/users/:userId/credentials/revoke',
    {
      onRequest: guard,
      schema: {
        tags: ['Credentials'],
        summary: "Revoke every credential of the user's",
        description: 'Marks them revoked in their status lists: verifiers see it within a minute (the lists are cached that long).',
        operationId: 'revokeCredentials',
        security,
        params: CredentialUserParams,
        response: { 200: CredentialRevocationSchema, 404: ErrorObjectSchema },
      },
    },
    async (request) => {
      const { accountId } = principalOf(request);
      const userId = request.params.userId;
      if ((await ctx.users.stateOf(ctx.store.db, accountId, userId)) === null) throw errors.userNotFound(userId);
      const revokedCredentialIds = await ctx.store.write((trx) =>
        ctx.credentialRegistry.revokeForUser(trx, { accountId, userId, reason: 'revoked_by_rp' }, requestMeta(request)),
      );
      return { revokedCredentialIds };
    },
  );
}

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header?.startsWith('Bearer ')) throw new CredentialRequestError(401, 'invalid_token', 'A Bearer access token is required');
  return header.slice(7).trim();
}

function sendCredentialError(reply: FastifyReply, error: CredentialRequestError): FastifyReply {
  if (error.status === 401) reply.header('WWW-Authenticate', 'Bearer error="invalid_token"');
  return reply.status(error.status).send({ error: error.error, error_description: error.message });
}
