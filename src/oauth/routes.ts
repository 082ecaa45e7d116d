import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { PRE_AUTHORIZED_CODE_GRANT } from '../credentials/metadata.js';
import { PERMISSIONS, SIGNICAT_API_SCOPE } from './permissions.js';
import { TOKEN_ALG } from './signing-keys.js';
import { registerTokenEndpoint, TOKEN_PATH, type TokenEndpointDeps } from './token-endpoint.js';

export const JWKS_PATH = '/.well-known/jwks.json';

/** The authorization server face: token endpoint, JWKS and RFC 8414 metadata. */
export async function oauthRoutes(app: FastifyInstance, ctx: TokenEndpointDeps & Pick<AppContext, 'keys'>): Promise<void> {
  await app.register(async (scoped) => {
    // Form bodies only; any other body is left unread so that the endpoint answers with its own RFC 6749 error.
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    await scoped.register(formbody, { bodyLimit: 16 * 1024 });
    registerTokenEndpoint(scoped, ctx);
  });

  app.get(JWKS_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=300').send(await ctx.keys.jwks(ctx.store.db)),
  );

  app.get('/.well-known/oauth-authorization-server', { schema: { hide: true } }, async () => ({
    issuer: ctx.config.publicUrl,
    token_endpoint: `${ctx.config.publicUrl}${TOKEN_PATH}`,
    jwks_uri: `${ctx.config.publicUrl}${JWKS_PATH}`,
    grant_types_supported: ['client_credentials', PRE_AUTHORIZED_CODE_GRANT],
    'pre-authorized_grant_anonymous_access_supported': true,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: [SIGNICAT_API_SCOPE, ...PERMISSIONS],
    response_types_supported: [],
    service_documentation: `${ctx.config.publicUrl}/docs`,
    access_token_signing_alg_values_supported: [TOKEN_ALG],
  }));
}
