import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import type { CredentialSettings } from '../config.js';
import { latestAssuredTransaction } from '../flows/transaction.js';
import type { RequestMeta } from '../http/request-meta.js';
import { isEnrolled } from '../identity/binding.js';
import type { User, UserStore } from '../identity/users.js';
import { meetsAssurance } from '../proofing/assurance.js';
import { signJwsInput } from '../oauth/signing-keys.js';
import { apiError, errors } from '../shared/errors.js';
import { isoTime } from '../shared/runtime.js';
import type { Executor, Store, Tx } from '../store/database.js';
import { identityClaims, IDENTITY_DISCLOSURE_FRAME, type IdentityClaims } from './claims.js';
import { CREDENTIAL_ALG, IDENTITY_CONFIGURATION_ID, IDENTITY_VCT, PRE_AUTHORIZED_CODE_GRANT } from './metadata.js';
import type { CNonces } from './nonces.js';
import { TX_CODE_LENGTH, type CredentialOffers, type OfferGrant } from './offers.js';
import { CredentialRequestError } from './errors.js';
import { verifyProof } from './proofs.js';
import type { CredentialRegistry, CredentialRegistryDeps } from './registry.js';

/**
 * Credential issuance: an RP offers a verified user their identity as a credential; the user's wallet redeems the
 * offer (token endpoint), proves its key and receives an SD-JWT VC bound to it. Issued only for a live user whose
 * identity was verified at the issuer's minimum assurance level or above, valid at most until the document expires.
 */
export interface CredentialIssuerDeps extends Pick<CredentialRegistryDeps, 'clock' | 'audit' | 'outbox' | 'keys' | 'issuer'> {
  store: Pick<Store, 'db' | 'write' | 'lockForUpdate'>;
  users: Pick<UserStore, 'find' | 'readAttributes'>;
  offers: CredentialOffers;
  registry: Pick<CredentialRegistry, 'record' | 'statusListUri'>;
  nonces: CNonces;
  settings: CredentialSettings;
}

export interface OfferAnswer {
  credentialOffer: Record<string, unknown>;
  credentialOfferUri: string;
  txCode: string;
  expiresAt: string;
}

/** What a credential states and until when, read from the identity store. */
interface IssuableIdentity {
  claims: IdentityClaims;
  expiresAt: number;
}

const DAY_MS = 24 * 3600 * 1000;

export class CredentialIssuer {
  constructor(private readonly deps: CredentialIssuerDeps) {}

  /** POST /reuseid/users/{userId}/credential-offers. */
  async offer(principal: { accountId: string; clientId: string }, userId: string, meta: RequestMeta): Promise<OfferAnswer> {
    return this.deps.store.write(async (trx) => {
      const user = await this.deps.users.find(trx, principal.accountId, userId);
      if (!user) throw errors.userNotFound(userId);
      await this.issuable(trx, user);
      const offer = await this.deps.offers.create(trx, { accountId: principal.accountId, userId, clientId: principal.clientId });
      await this.deps.audit.append(trx, {
        accountId: principal.accountId,
        eventType: 'credential.offered',
        message: 'Credential offered',
        clientId: principal.clientId,
        ...meta,
        userId,
        data: { offerId: offer.offerId, configurationId: IDENTITY_CONFIGURATION_ID, expiresAt: isoTime(offer.expiresAt) },
      });
      const credentialOffer = {
        credential_issuer: this.deps.issuer,
        credential_configuration_ids: [IDENTITY_CONFIGURATION_ID],
        grants: {
          [PRE_AUTHORIZED_CODE_GRANT]: {
            'pre-authorized_code': offer.preAuthorizedCode,
            tx_code: { input_mode: 'numeric', length: TX_CODE_LENGTH, description: 'The code shown to you by the service that sent this offer' },
          },
        },
      };
      return {
        credentialOffer,
        credentialOfferUri: `openid-credential-offer://?credential_offer=${encodeURIComponent(JSON.stringify(credentialOffer))}`,
        txCode: offer.txCode,
        expiresAt: isoTime(offer.expiresAt),
      };
    });
  }

  /** POST /openid4vci/credential: one credential for one proof, with the access token of a redeemed offer. */
  async issue(accessToken: string, request: { configurationId: string; proofs: unknown[] }, meta: RequestMeta): Promise<string> {
    const grant = await this.deps.offers.authorize(this.deps.store.db, accessToken);
    if (!grant) throw new CredentialRequestError(401, 'invalid_token', 'The access token is invalid, expired or already used');
    if (request.configurationId !== IDENTITY_CONFIGURATION_ID) {
      throw new CredentialRequestError(400, 'unknown_credential_configuration', `Unknown credential configuration ${request.configurationId.slice(0, 100)}`);
    }
    // Batch issuance is not offered: the metadata has no batch_credential_issuance, so exactly one proof (§8.2).
    if (request.proofs.length !== 1) throw new CredentialRequestError(400, 'invalid_credential_request', 'Send exactly one proof');
    const holder = await verifyProof(request.proofs[0], { issuer: this.deps.issuer, nonces: this.deps.nonces, clock: this.deps.clock });
    return this.deps.store.write(async (trx) => {
      // Locked: an erasure racing this issuance either waits for it (and revokes what it issued) or wins (no credential).
      const user = await this.deps.users.find(trx, grant.accountId, grant.userId, this.deps.store.lockForUpdate);
      if (!user) throw new CredentialRequestError(400, 'credential_request_denied', 'The identity behind this offer no longer exists');
      const identity = await this.issuable(trx, user).catch(() => {
        throw new CredentialRequestError(400, 'credential_request_denied', 'The identity can no longer be issued');
      });
      if (!(await this.deps.offers.markIssued(trx, grant.offerId))) throw new CredentialRequestError(401, 'invalid_token', 'The access token was already used');
      const recorded = await this.deps.registry.record(trx, {
        accountId: grant.accountId,
        userId: grant.userId,
        offerId: grant.offerId,
        configurationId: IDENTITY_CONFIGURATION_ID,
        holderKeyThumbprint: holder.thumbprint,
        expiresAt: identity.expiresAt,
      });
      const credential = await this.sign(trx, identity, holder.jwk, this.deps.registry.statusListUri(recorded.statusListId), recorded.statusIndex);
      await this.announceIssued(trx, grant, recorded.credentialId, identity.expiresAt, meta);
      return credential;
    });
  }

  /** What the credential would state, or why the identity cannot be issued (erased users are not found before this). */
  private async issuable(executor: Executor, user: User): Promise<IssuableIdentity> {
    const attributes = Object.fromEntries(Object.entries(await this.deps.users.readAttributes(executor, user)).map(([name, a]) => [name, a.value]));
    if (!isEnrolled(Object.keys(attributes))) {
      throw apiError('user_not_enrolled', 'The user has no verified identity yet: complete an onboarding first.');
    }
    const proofing = await latestAssuredTransaction(executor, user.accountId, user.id);
    if (!proofing?.assuranceLevel || !proofing.verification) {
      throw apiError('credential_not_issuable', 'No record of the proofing remains (retention deleted it); a step-up renews it.');
    }
    const minimum = this.deps.settings.minimumAssurance;
    if (!meetsAssurance(proofing.assuranceLevel, minimum)) {
      throw apiError('credential_not_issuable', `The identity was verified at level ${proofing.assuranceLevel}; credentials need ${minimum} or above.`);
    }
    const now = this.deps.clock.now();
    const expiresAt = this.expiry(now, attributes.dateOfExpiry);
    if (expiresAt <= now) throw apiError('credential_not_issuable', 'The identity document has expired; a step-up with a valid document renews it.');
    return {
      claims: identityClaims(attributes, { level: proofing.assuranceLevel, verification: proofing.verification }, isoTime(now).slice(0, 10)),
      expiresAt,
    };
  }

  /** The policy's lifetime, never beyond the end of the document's last day of validity. */
  private expiry(now: number, documentExpiry: string | undefined): number {
    const policy = now + this.deps.settings.lifetimeDays * DAY_MS;
    if (!documentExpiry) return policy;
    return Math.min(policy, Date.parse(`${documentExpiry}T00:00:00Z`) + DAY_MS);
  }

  private async sign(executor: Executor, identity: IssuableIdentity, holderJwk: object, statusUri: string, statusIndex: number): Promise<string> {
    const key = await this.deps.keys.signingKey(executor);
    const iat = Math.floor(this.deps.clock.now() / 1000);
    const payload = {
      iss: this.deps.issuer,
      iat,
      exp: Math.floor(identity.expiresAt / 1000),
      vct: IDENTITY_VCT,
      cnf: { jwk: holderJwk },
      status: { status_list: { idx: statusIndex, uri: statusUri } },
      ...identity.claims,
    };
    const signer = async (signingInput: string) => signJwsInput(signingInput, key.privateKey);
    return new SDJwtVcInstance({ hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt, signAlg: CREDENTIAL_ALG, signer }).issue(
      payload,
      IDENTITY_DISCLOSURE_FRAME,
      { header: { kid: key.kid } },
    );
  }

  private async announceIssued(trx: Tx, grant: OfferGrant, credentialId: string, expiresAt: number, meta: RequestMeta): Promise<void> {
    const data = { userId: grant.userId, credentialId, configurationId: IDENTITY_CONFIGURATION_ID, expiresAt: isoTime(expiresAt) };
    await this.deps.audit.append(trx, {
      accountId: grant.accountId,
      eventType: 'credential.issued',
      message: 'Credential issued to a wallet',
      ...meta,
      userId: grant.userId,
      data: { ...data, offerId: grant.offerId },
    });
    await this.deps.outbox.enqueue(trx, grant.accountId, 'credential.issued', data);
  }
}
