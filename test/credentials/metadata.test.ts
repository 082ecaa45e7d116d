import { Openid4vciClient, Openid4vciVersion, setGlobalConfig } from '@openid4vc/openid4vci';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { PUBLIC_URL, useHarness } from '../support/harness.js';
import { onboardWithSandbox } from './support.js';

/**
 * The issuer's metadata and offers, read by the OpenWallet Foundation's OpenID4VCI client (@openid4vc/openid4vci), which
 * parses them with its schemas of the published 1.0 specification and refuses what they do not allow.
 */
for (const database of testDatabases) {
  describe(`issuer metadata and offers, as a third-party wallet library reads them (${database.name})`, () => {
    const t = useHarness(database, { REUSEID_CREDENTIAL_MINIMUM_ASSURANCE: 'low' });
    // The test server's public URL is http; the library allows only https unless told otherwise.
    setGlobalConfig({ allowInsecureUrls: true });

    const client = () =>
      new Openid4vciClient({
        callbacks: {
          fetch: (async (input: string | URL | Request, init?: RequestInit) => {
            const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
            if (url.origin !== PUBLIC_URL) throw new Error(`unexpected fetch of ${url}`);
            const response = await t.h.app.inject({ method: (init?.method ?? 'GET') as 'GET', url: url.pathname + url.search });
            return new Response(response.body, { status: response.statusCode, headers: response.headers as Record<string, string> });
          }) as typeof fetch,
          hash: async () => {
            throw new Error('not needed');
          },
          generateRandom: async () => {
            throw new Error('not needed');
          },
          signJwt: async () => {
            throw new Error('not needed');
          },
          clientAuthentication: () => {
            throw new Error('not needed');
          },
        },
      });

    it('validates the issuer metadata as OpenID4VCI 1.0 and finds the authorization server with the pre-authorized grant', async () => {
      const resolved = await client().resolveIssuerMetadata(PUBLIC_URL);
      expect(resolved.originalDraftVersion).toBe(Openid4vciVersion.V1);
      expect(resolved.credentialIssuer).toMatchObject({
        credential_issuer: PUBLIC_URL,
        credential_endpoint: `${PUBLIC_URL}/openid4vci/credential`,
        nonce_endpoint: `${PUBLIC_URL}/openid4vci/nonce`,
      });
      const configuration = resolved.credentialIssuer.credential_configurations_supported.reuseid_identity_sd_jwt as Record<string, unknown>;
      expect(configuration).toMatchObject({
        format: 'dc+sd-jwt',
        cryptographic_binding_methods_supported: ['jwk'],
        proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
      });
      expect(resolved.authorizationServers[0]).toMatchObject({
        issuer: PUBLIC_URL,
        'pre-authorized_grant_anonymous_access_supported': true,
      });
    });

    it('parses the offer deep link the RP receives', async () => {
      const rp = await t.h.rp({ permissions: ['reuseid-onboarding', 'reuseid-credentials'] });
      const user = await onboardWithSandbox({ h: t.h, rp });
      const offer = (await rp.post(`/reuseid/users/${user.userId}/credential-offers`, {})).body;
      expect(offer.credentialOfferUri).toMatch(/^openid-credential-offer:\/\/\?credential_offer=/);
      expect(offer.txCode).toMatch(/^\d{6}$/);
      const parsed = await client().resolveCredentialOffer(offer.credentialOfferUri);
      expect(parsed).toEqual(offer.credentialOffer);
      expect(parsed.grants?.['urn:ietf:params:oauth:grant-type:pre-authorized_code']?.tx_code).toMatchObject({ input_mode: 'numeric', length: 6 });
    });
  });
}
