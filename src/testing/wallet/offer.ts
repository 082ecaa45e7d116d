import { z } from 'zod';
import { WalletError } from './errors.js';
import { checkIdentifier, checkUrl, type Fetch, jsonBody, send } from './http.js';

/**
 * The credential offer (OpenID4VCI §4.1): by value in `credential_offer`, or by reference in `credential_offer_uri`,
 * on the `openid-credential-offer://` scheme. Only the pre-authorized code grant is understood: this wallet has no
 * browser to run the authorization code flow in.
 */
export const PRE_AUTHORIZED_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const OFFER_SCHEME = 'openid-credential-offer:';

const txCodeSpec = z.object({
  input_mode: z.enum(['numeric', 'text']).optional(),
  length: z.number().int().positive().optional(),
  description: z.string().max(300).optional(),
});

const preAuthorizedGrant = z.object({
  'pre-authorized_code': z.string().min(1),
  tx_code: txCodeSpec.optional(),
  authorization_server: z.string().optional(),
});

const credentialOffer = z.object({
  credential_issuer: z.string(),
  credential_configuration_ids: z.array(z.string().min(1)).min(1),
  grants: z.object({ [PRE_AUTHORIZED_CODE_GRANT]: preAuthorizedGrant.optional() }).optional(),
});

export type CredentialOffer = z.infer<typeof credentialOffer>;
export type PreAuthorizedGrant = z.infer<typeof preAuthorizedGrant>;

export interface ResolvedOffer {
  offer: CredentialOffer;
  grant: PreAuthorizedGrant;
}

export async function resolveOffer(offerUri: string, fetchImpl: Fetch): Promise<ResolvedOffer> {
  const offer = parseOffer(await offerJson(offerUri.trim(), fetchImpl));
  checkIdentifier(offer.credential_issuer, 'The offer’s credential_issuer');
  const grant = offer.grants?.[PRE_AUTHORIZED_CODE_GRANT];
  if (!grant) throw new WalletError('unsupported_offer', 'The offer has no pre-authorized code grant, the only grant this wallet supports');
  return { offer, grant };
}

async function offerJson(offerUri: string, fetchImpl: Fetch): Promise<unknown> {
  let url: URL;
  try {
    url = new URL(offerUri);
  } catch {
    throw new WalletError('invalid_offer', 'The offer is not a URI; expected openid-credential-offer://?credential_offer=…');
  }
  if (url.protocol !== OFFER_SCHEME) throw new WalletError('invalid_offer', `The offer must use the openid-credential-offer:// scheme, not ${url.protocol}`);
  const byValue = url.searchParams.getAll('credential_offer');
  const byReference = url.searchParams.getAll('credential_offer_uri');
  // §4.1: one or the other, once.
  if (byValue.length + byReference.length !== 1)
    throw new WalletError('invalid_offer', 'The offer must carry exactly one credential_offer or credential_offer_uri parameter');
  if (byValue[0] !== undefined) {
    try {
      return JSON.parse(byValue[0]) as unknown;
    } catch {
      throw new WalletError('invalid_offer', 'The credential_offer parameter is not JSON');
    }
  }
  const reference = checkUrl(byReference[0]!, 'The credential_offer_uri');
  return jsonBody(await send(fetchImpl, reference, { headers: { accept: 'application/json' } }, 'The credential offer URI'), 'The credential offer URI');
}

function parseOffer(json: unknown): CredentialOffer {
  const parsed = credentialOffer.safeParse(json);
  if (!parsed.success) throw new WalletError('invalid_offer', `The credential offer is malformed: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * The transaction code the user typed, checked against what the offer announced (§4.1.1) before it is sent: a code
 * of the wrong shape is a typo the user can fix, not an attempt to spend at the token endpoint.
 */
export function checkTxCode(spec: PreAuthorizedGrant['tx_code'], txCode: string | undefined): string | undefined {
  if (!spec) {
    if (txCode !== undefined) throw new WalletError('invalid_tx_code', 'The offer asks for no transaction code; leave it out');
    return undefined;
  }
  const hint = spec.description ? ` (${spec.description})` : '';
  if (txCode === undefined || txCode === '') throw new WalletError('invalid_tx_code', `The offer needs a transaction code${hint}: pass --tx-code`);
  if ((spec.input_mode ?? 'numeric') === 'numeric' && !/^\d+$/.test(txCode)) throw new WalletError('invalid_tx_code', 'The transaction code is digits only');
  if (spec.length !== undefined && txCode.length !== spec.length)
    throw new WalletError('invalid_tx_code', `The transaction code has ${spec.length} characters`);
  return txCode;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}
