import { z } from 'zod';
import { WalletError } from './errors.js';
import { checkIdentifier, checkUrl, type Fetch, jsonBody, send, wellKnownUrl } from './http.js';
import { ALG } from './keys.js';
import { describeIssues, type ResolvedOffer } from './offer.js';

/** The credential format this wallet holds and presents (SD-JWT VC, OpenID4VCI Appendix A.3). */
export const SD_JWT_VC_FORMAT = 'dc+sd-jwt';

const configuration = z.object({
  format: z.string(),
  vct: z.string().optional(),
  cryptographic_binding_methods_supported: z.array(z.string()).optional(),
  proof_types_supported: z.record(z.string(), z.object({ proof_signing_alg_values_supported: z.array(z.string()) })).optional(),
});

const issuerMetadata = z.object({
  credential_issuer: z.string(),
  credential_endpoint: z.string(),
  nonce_endpoint: z.string().optional(),
  authorization_servers: z.array(z.string()).min(1).optional(),
  credential_configurations_supported: z.record(z.string(), configuration),
});

const authorizationServerMetadata = z.object({
  issuer: z.string(),
  token_endpoint: z.string(),
  'pre-authorized_grant_anonymous_access_supported': z.boolean().optional(),
});

export type IssuerMetadata = z.infer<typeof issuerMetadata>;

export interface Issuance {
  metadata: IssuerMetadata;
  configurationId: string;
  vct: string | undefined;
  tokenEndpoint: string;
}

/** Everything the offer leads to before any code is spent: the issuer's metadata, the configuration to ask for, the token endpoint. */
export async function discover({ offer, grant }: ResolvedOffer, fetchImpl: Fetch): Promise<Issuance> {
  const metadata = await fetchIssuerMetadata(offer.credential_issuer, fetchImpl);
  const configurationId = chooseConfiguration(offer.credential_configuration_ids, metadata);
  const authorizationServer = chooseAuthorizationServer(metadata, grant.authorization_server);
  const tokenEndpoint = await fetchTokenEndpoint(authorizationServer, fetchImpl);
  return { metadata, configurationId, vct: metadata.credential_configurations_supported[configurationId]?.vct, tokenEndpoint };
}

async function fetchIssuerMetadata(issuer: string, fetchImpl: Fetch): Promise<IssuerMetadata> {
  const what = 'The credential issuer metadata';
  const answer = await send(fetchImpl, wellKnownUrl(issuer, 'openid-credential-issuer'), { headers: { accept: 'application/json' } }, what);
  const parsed = issuerMetadata.safeParse(jsonBody(answer, what));
  if (!parsed.success) throw new WalletError('invalid_metadata', `${what} is malformed: ${describeIssues(parsed.error)}`);
  // §12.2.1: metadata for another issuer than the offer named must not be used, or an offer could send the wallet's
  // proof and code to an endpoint of the attacker's choosing.
  if (parsed.data.credential_issuer !== issuer)
    throw new WalletError('issuer_mismatch', `${what} is for ${JSON.stringify(parsed.data.credential_issuer)}, not the offer's ${JSON.stringify(issuer)}`);
  checkUrl(parsed.data.credential_endpoint, 'The credential_endpoint');
  if (parsed.data.nonce_endpoint !== undefined) checkUrl(parsed.data.nonce_endpoint, 'The nonce_endpoint');
  return parsed.data;
}

/** The first offered configuration this wallet can hold: an SD-JWT VC bound to a JWK proved with an ES256 JWT. */
function chooseConfiguration(offered: string[], metadata: IssuerMetadata): string {
  const usable = offered.find((id) => {
    const config = metadata.credential_configurations_supported[id];
    return (
      config?.format === SD_JWT_VC_FORMAT &&
      (config.cryptographic_binding_methods_supported?.includes('jwk') ?? false) &&
      (config.proof_types_supported?.jwt?.proof_signing_alg_values_supported.includes(ALG) ?? false)
    );
  });
  if (usable === undefined)
    throw new WalletError(
      'unsupported_offer',
      `None of the offered configurations (${offered.join(', ')}) is a ${SD_JWT_VC_FORMAT} credential bound to a JWK with ${ALG} JWT proofs`,
    );
  return usable;
}

/** §12.2.4: without `authorization_servers` the issuer is its own authorization server; with several, the grant names one. */
function chooseAuthorizationServer(metadata: IssuerMetadata, named: string | undefined): string {
  const servers = metadata.authorization_servers ?? [metadata.credential_issuer];
  if (named !== undefined && !servers.includes(named))
    throw new WalletError('invalid_offer', `The offer names authorization server ${named}, which the issuer does not list`);
  return named ?? servers[0]!;
}

async function fetchTokenEndpoint(authorizationServer: string, fetchImpl: Fetch): Promise<string> {
  const what = 'The authorization server metadata';
  checkIdentifier(authorizationServer, 'The authorization server');
  const answer = await send(fetchImpl, wellKnownUrl(authorizationServer, 'oauth-authorization-server'), { headers: { accept: 'application/json' } }, what);
  const parsed = authorizationServerMetadata.safeParse(jsonBody(answer, what));
  if (!parsed.success) throw new WalletError('invalid_metadata', `${what} is malformed: ${describeIssues(parsed.error)}`);
  // RFC 8414 §3.3: the metadata must be for the server it was fetched for.
  if (parsed.data.issuer !== authorizationServer)
    throw new WalletError('issuer_mismatch', `${what} is for ${JSON.stringify(parsed.data.issuer)}, not ${JSON.stringify(authorizationServer)}`);
  // This wallet has no client registration: it can only redeem the code anonymously (OpenID4VCI §12.3).
  if (parsed.data['pre-authorized_grant_anonymous_access_supported'] !== true)
    throw new WalletError('unsupported_offer', 'The authorization server does not accept pre-authorized codes from anonymous wallets');
  return checkUrl(parsed.data.token_endpoint, 'The token_endpoint');
}
