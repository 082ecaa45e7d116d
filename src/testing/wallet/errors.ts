/**
 * Why the wallet or its verifier refused, as a stable code and a sentence. Codes that an issuer's endpoint answered
 * (RFC 6749 §5.2, OpenID4VCI §6.3 and §8.3.1: `invalid_grant`, `invalid_proof`, `invalid_nonce`…) are kept verbatim,
 * with the endpoint that answered them, so that a script can tell a wrong PIN from a stale nonce.
 */
export class WalletError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly endpoint?: string,
  ) {
    super(message);
    this.name = 'WalletError';
  }
}
