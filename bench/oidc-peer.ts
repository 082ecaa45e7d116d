/**
 * The peer for the token benchmark: node-oidc-provider (the reference OAuth server for Node) configured for client
 * credentials with JWT access tokens signed ES256, as our token endpoint issues them. Run as its own process.
 */
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
const resource = 'https://api.bench.test';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-client',
      client_secret: process.env.PEER_CLIENT_SECRET ?? 'bench-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [signingKey] },
  scopes: ['reuseid-onboarding'],
  cookies: { keys: ['bench-cookie-key'] },
  ttl: { ClientCredentials: 600 },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'reuseid-onboarding',
        audience: resource,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.proxy = true;
provider.listen(port, '127.0.0.1');
