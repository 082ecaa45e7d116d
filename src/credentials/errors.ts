/** Refusals of the credential endpoint, in the OpenID4VCI error vocabulary (§8.3.1.2). */
export class CredentialRequestError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error:
      | 'invalid_token'
      | 'invalid_credential_request'
      | 'unknown_credential_configuration'
      | 'invalid_proof'
      | 'invalid_nonce'
      | 'credential_request_denied',
    description: string,
  ) {
    super(description);
  }
}
