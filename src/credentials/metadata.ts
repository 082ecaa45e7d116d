/**
 * What the credential issuer publishes (OpenID4VCI 1.0 §12.2): one credential configuration, the identity this server
 * verified as an SD-JWT VC (`dc+sd-jwt`), bound to a key the wallet proves it holds. The issuer is its own
 * authorization server: its RFC 8414 metadata (oauth/routes.ts) lists the pre-authorized code grant.
 */
export const IDENTITY_CONFIGURATION_ID = 'reuseid_identity_sd_jwt';
export const IDENTITY_VCT = 'urn:reuseid:identity:1';
export const CREDENTIAL_FORMAT = 'dc+sd-jwt';
export const CREDENTIAL_ALG = 'ES256';
export const PRE_AUTHORIZED_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';

export const ISSUER_METADATA_PATH = '/.well-known/openid-credential-issuer';
export const JWT_VC_ISSUER_PATH = '/.well-known/jwt-vc-issuer';
export const NONCE_PATH = '/openid4vci/nonce';
export const CREDENTIAL_PATH = '/openid4vci/credential';
export const STATUS_LIST_PATH = '/openid4vci/status-lists';

/** The claims of the identity credential, each selectively disclosable, with the names a wallet shows. */
export const IDENTITY_CLAIMS: readonly { path: string[]; name: string }[] = [
  { path: ['given_name'], name: 'Given names' },
  { path: ['family_name'], name: 'Family name' },
  { path: ['birthdate'], name: 'Date of birth' },
  { path: ['nationalities'], name: 'Nationalities' },
  { path: ['sex'], name: 'Sex' },
  { path: ['age_equal_or_over', '18'], name: 'Aged 18 or over' },
  { path: ['age_equal_or_over', '21'], name: 'Aged 21 or over' },
  { path: ['document_type'], name: 'Document type' },
  { path: ['document_issuing_country'], name: 'Document issuing country' },
  { path: ['document_expiry_date'], name: 'Document expiry date' },
  { path: ['assurance_level'], name: 'Level of assurance' },
  { path: ['verification_method'], name: 'How the identity was verified' },
];

export function issuerMetadata(issuer: string): Record<string, unknown> {
  return {
    credential_issuer: issuer,
    credential_endpoint: `${issuer}${CREDENTIAL_PATH}`,
    nonce_endpoint: `${issuer}${NONCE_PATH}`,
    display: [{ name: 'ReuseID', locale: 'en' }],
    credential_configurations_supported: {
      [IDENTITY_CONFIGURATION_ID]: {
        format: CREDENTIAL_FORMAT,
        vct: IDENTITY_VCT,
        scope: IDENTITY_CONFIGURATION_ID,
        cryptographic_binding_methods_supported: ['jwk'],
        credential_signing_alg_values_supported: [CREDENTIAL_ALG],
        proof_types_supported: { jwt: { proof_signing_alg_values_supported: [CREDENTIAL_ALG] } },
        credential_metadata: {
          display: [
            {
              name: 'Verified identity',
              locale: 'en',
              description: 'Your identity as verified from your identity document (its chip or images) and your face.',
              background_color: '#12107c',
              text_color: '#ffffff',
            },
          ],
          claims: IDENTITY_CLAIMS.map((claim) => ({ path: claim.path, display: [{ name: claim.name, locale: 'en' }] })),
        },
      },
    },
  };
}
