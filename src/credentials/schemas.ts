import { z } from 'zod';

/** The RP's side of credential issuance (permission `reuseid-credentials`). */
export const CredentialUserParams = z.object({ userId: z.string().max(100) });

export const CredentialOfferSchema = z.object({
  credentialOffer: z.record(z.string(), z.unknown()).describe('The OpenID4VCI credential offer (§4.1.1), with its pre-authorized code'),
  credentialOfferUri: z.string().describe('The offer as an `openid-credential-offer://` deep link (or QR code) for the wallet'),
  txCode: z.string().describe('The one-time transaction code: show it to the user apart from the offer'),
  expiresAt: z.string().describe('Until when the offer can be redeemed'),
});

export const CredentialRevocationSchema = z.object({
  revokedCredentialIds: z.array(z.string()).describe('The credentials revoked now (already revoked or expired ones are not listed)'),
});

/** The wallet's credential request (OpenID4VCI 1.0 §8.2), as far as this issuer supports it. */
export const CredentialRequestSchema = z.object({
  credential_configuration_id: z.string().max(200),
  proofs: z.object({ jwt: z.array(z.string()).min(1).max(10) }),
});

/** An issued credential as the user's export shows it: what and when, never its claims (the server keeps none). */
export const IssuedCredentialSchema = z.object({
  credentialId: z.string(),
  configurationId: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  revocationReason: z.string().nullable(),
});
export type IssuedCredentialView = z.infer<typeof IssuedCredentialSchema>;
