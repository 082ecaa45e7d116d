/**
 * Document verification: passive authentication (Doc 9303-11 §5.1) plus clone detection by Active
 * Authentication, summarised as a verdict in the terms of Signicat ReadID:
 *
 * - `accepted`: chip verification passed (SOD signature, data group hashes, certificate chain) and clone
 *   detection passed or is not available on the document (no DG15);
 * - `inconclusive`: chip verification passed, but clone detection failed or was not performed although
 *   the document supports it;
 * - `rejected`: chip verification failed, or the files could not be read.
 *
 * `verifyDocument` never throws on file contents: malformed input becomes a `rejected` result with a
 * `formatError`. Only the server's own inputs (a trust store) are assumed well-formed.
 */
import { describeKey, digest, type HashName } from './algorithms.js';
import { type ActiveAuthenticationResult, verifyActiveAuthentication } from './active-auth.js';
import type { CertificateInfo } from './certificates.js';
import { verifySignerInfo } from './cms.js';
import { type IcaoErrorCode, IcaoFormatError } from './errors.js';
import type { KeyObject } from 'node:crypto';
import { type Dg14, type Dg15, parseDg1, parseDg14, parseDg15 } from './lds.js';
import type { MrzFields } from './mrz.js';
import { type Sod, parseSod } from './sod.js';
import type { TrustStore } from './trust-store.js';

export type CheckStatus = 'SUCCEEDED' | 'FAILED' | 'NOT_CHECKED' | 'NOT_PRESENT';
export type Verdict = 'accepted' | 'inconclusive' | 'rejected';

export interface Check {
  status: CheckStatus;
  reason: string;
}

export interface VerifyDocumentInput {
  sod: Uint8Array;
  dg1: Uint8Array;
  dg2?: Uint8Array;
  dg14?: Uint8Array;
  dg15?: Uint8Array;
  trustStore: TrustStore;
  /** Validate certificates at this date instead of the SOD signing time. */
  at?: Date;
  /** Challenge the server issued and the chip's answer (INTERNAL AUTHENTICATE). */
  activeAuthentication?: { challenge: Uint8Array; signature: Uint8Array };
  /** "Today" for document expiry and two-digit years (default: the current time). */
  now?: Date;
}

export interface DocumentData {
  documentCode: string;
  issuingState: string;
  documentNumber: string;
  lastName: string;
  firstName: string;
  nationality: string;
  /** YYYY-MM-DD, or null when the MRZ gives an unknown date. */
  dateOfBirth: string | null;
  gender: 'M' | 'F' | 'X';
  dateOfExpiry: string | null;
  mrzFormat: MrzFields['format'];
  /** All MRZ check digits verify. */
  mrzValid: boolean;
}

export type DataGroupStatus = 'MATCH' | 'MISMATCH' | 'NOT_IN_SOD';

export interface VerificationResult {
  verdict: Verdict;
  checks: {
    sodSignature: Check;
    dataGroupHashes: Check;
    certificateChain: Check;
    activeAuthentication: Check;
    chipAuthentication: Check;
  };
  /** From DG1; null when DG1 cannot be read. */
  document: DocumentData | null;
  documentExpired: boolean;
  /** Why the verdict is not `accepted`, plus the expiry flag: one sentence each. */
  reasons: string[];
  /** Findings that do not change the verdict (SHA-1, MRZ check digits, missing CRL…). */
  warnings: string[];
  /** Set when an uploaded file could not be parsed. */
  formatError?: { code: IcaoErrorCode; file: string; message: string };
  dataGroups: Record<string, DataGroupStatus>;
  algorithms: {
    dataGroupHash?: HashName;
    signerDigest?: HashName;
    sodSignature?: string;
    dsPublicKey?: string;
    certificateSignature?: string;
    activeAuthentication?: string;
  };
  signingTime?: string;
  /** The date certificates were validated at. */
  validationTime: string;
  dsCertificate?: { subject: string; issuer: string; serialNumber: string; notBefore: string; notAfter: string };
  csca?: { subject: string; serialNumber: string };
}

const ok = (reason: string): Check => ({ status: 'SUCCEEDED', reason });
const failed = (reason: string): Check => ({ status: 'FAILED', reason });
const notChecked = (reason: string): Check => ({ status: 'NOT_CHECKED', reason });
const notPresent = (reason: string): Check => ({ status: 'NOT_PRESENT', reason });

export function verifyDocument(input: VerifyDocumentInput): VerificationResult {
  const now = input.now ?? new Date();
  const result = emptyResult(now);
  const sod = readFile('EF.SOD', result, () => parseSod(input.sod));
  const dg1 = readFile('DG1', result, () => parseDg1(input.dg1, { now }));
  if (dg1) describeDocument(dg1.parsed, result, now);
  if (!sod) return finish(result);
  result.algorithms.dataGroupHash = sod.lds.hash;
  const signingTime = sod.signer.signedAttributes?.signingTime;
  if (signingTime) result.signingTime = signingTime.toISOString();
  const at = input.at ?? signingTime ?? now;
  result.validationTime = at.toISOString();
  checkSodSignature(sod, result);
  const authenticated = checkDataGroupHashes(sod, input, result);
  checkCertificateChain(sod, input.trustStore, at, result);
  const dg14 = authenticated.has(14) && input.dg14 ? readDg14(input.dg14, result) : undefined;
  checkActiveAuthentication(input, sod.lds.dataGroupHashes.has(15), authenticated, dg14, result);
  checkChipAuthentication(dg14, result);
  return finish(result);
}

function emptyResult(now: Date): VerificationResult {
  const unchecked = notChecked('not reached');
  return {
    verdict: 'rejected',
    checks: {
      sodSignature: unchecked,
      dataGroupHashes: unchecked,
      certificateChain: unchecked,
      activeAuthentication: unchecked,
      chipAuthentication: unchecked,
    },
    document: null,
    documentExpired: false,
    reasons: [],
    warnings: [],
    dataGroups: {},
    algorithms: {},
    validationTime: now.toISOString(),
  };
}

/** Runs a parser; a format error marks the result and yields undefined. Anything else is a bug and propagates. */
function readFile<T>(file: string, result: VerificationResult, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof IcaoFormatError)) throw error;
    result.formatError ??= { code: error.code, file, message: error.message };
    result.reasons.push(`${file} is malformed (${error.code}): ${error.message}`);
    return undefined;
  }
}

function describeDocument(mrz: ReturnType<typeof parseDg1>['parsed'], result: VerificationResult, now: Date): void {
  if (!mrz.ok) {
    result.formatError ??= { code: 'BAD_MRZ', file: 'DG1', message: mrz.error.message };
    result.reasons.push(`DG1 MRZ is malformed: ${mrz.error.message}`);
    return;
  }
  const f = mrz.fields;
  result.document = {
    documentCode: f.documentCode,
    issuingState: f.issuingState,
    documentNumber: f.documentNumber,
    lastName: f.lastName,
    firstName: f.firstName,
    nationality: f.nationality,
    dateOfBirth: f.dateOfBirth,
    gender: f.sex,
    dateOfExpiry: f.dateOfExpiry,
    mrzFormat: f.format,
    mrzValid: mrz.valid,
  };
  for (const c of mrz.checks.filter((c) => !c.valid)) {
    result.warnings.push(`MRZ check digit for ${c.field} is ${c.printed}, computed ${c.computed}`);
  }
  for (const problem of mrz.problems) result.warnings.push(`MRZ: ${problem}`);
  const today = now.toISOString().slice(0, 10);
  if (f.dateOfExpiry !== null && f.dateOfExpiry < today) {
    result.documentExpired = true;
    result.reasons.push(`document expired on ${f.dateOfExpiry}`);
  }
}

function checkSodSignature(sod: Sod, result: VerificationResult): void {
  const ds = sod.dsCertificate;
  if (!ds) {
    result.checks.sodSignature = failed('EF.SOD does not carry the DS certificate named by its SignerInfo');
    return;
  }
  result.dsCertificate = {
    subject: ds.subject,
    issuer: ds.issuer,
    serialNumber: ds.serialNumber,
    notBefore: ds.notBefore.toISOString(),
    notAfter: ds.notAfter.toISOString(),
  };
  let key: KeyObject;
  try {
    key = ds.publicKey;
  } catch (error) {
    result.checks.sodSignature = failed(`DS public key unusable: ${(error as Error).message}`);
    return;
  }
  result.algorithms.dsPublicKey = describeKey(key);
  const verification = verifySignerInfo(sod.signer, sod.signedData, key);
  result.algorithms.sodSignature = verification.algorithm;
  result.algorithms.signerDigest = verification.digestHash;
  result.checks.sodSignature = verification.ok ? ok(verification.reason) : failed(verification.reason);
  if (verification.digestHash === 'sha1' || sod.lds.hash === 'sha1') result.warnings.push('SHA-1 is used by the SOD (legacy document)');
}

/**
 * Hashes every uploaded data group with the LDS hash algorithm. Returns the numbers of the data groups
 * whose hash matched, i.e. whose content the SOD vouches for.
 */
function checkDataGroupHashes(sod: Sod, input: VerifyDocumentInput, result: VerificationResult): Set<number> {
  const uploaded: [number, Uint8Array | undefined][] = [
    [1, input.dg1],
    [2, input.dg2],
    [14, input.dg14],
    [15, input.dg15],
  ];
  const matched = new Set<number>();
  const problems: string[] = [];
  for (const [dg, bytes] of uploaded) {
    if (!bytes) continue;
    const expected = sod.lds.dataGroupHashes.get(dg);
    const status: DataGroupStatus = !expected ? 'NOT_IN_SOD' : expected.equals(digest(sod.lds.hash, bytes)) ? 'MATCH' : 'MISMATCH';
    result.dataGroups[`DG${dg}`] = status;
    if (status === 'MATCH') matched.add(dg);
    else problems.push(status === 'NOT_IN_SOD' ? `DG${dg} was uploaded but the SOD does not list it` : `DG${dg} hash does not match the SOD`);
  }
  result.checks.dataGroupHashes = problems.length
    ? failed(problems.join('; '))
    : ok(`${matched.size} data group(s) match their ${sod.lds.hash} hashes in the SOD`);
  return matched;
}

function checkCertificateChain(sod: Sod, store: TrustStore, at: Date, result: VerificationResult): void {
  const ds: CertificateInfo | undefined = sod.dsCertificate;
  if (!ds) {
    result.checks.certificateChain = failed('no DS certificate to validate');
    return;
  }
  const chain = store.validateDocumentSigner(ds, at);
  result.algorithms.certificateSignature = chain.algorithm;
  if (chain.csca) result.csca = { subject: chain.csca.subject, serialNumber: chain.csca.serialNumber };
  result.checks.certificateChain = chain.ok ? ok(chain.reason) : failed(chain.reason);
  if (chain.ok && chain.reason.includes('no CRL')) result.warnings.push('revocation not checked: no CRL of the issuing CSCA');
}

/**
 * Whether the chip supports Active Authentication is decided by the SOD, never by what was uploaded: leaving DG15
 * out of a copied chip dump must not turn clone detection into "not present".
 */
function checkActiveAuthentication(
  input: VerifyDocumentInput,
  sodListsDg15: boolean,
  authenticated: Set<number>,
  dg14: Dg14 | undefined,
  result: VerificationResult,
): void {
  if (!sodListsDg15) {
    result.checks.activeAuthentication = notPresent('the SOD lists no DG15: the document does not support Active Authentication');
    return;
  }
  if (!input.dg15) {
    result.checks.activeAuthentication = notChecked('the SOD lists DG15 (Active Authentication) but DG15 was not supplied');
    return;
  }
  if (!authenticated.has(15)) {
    result.checks.activeAuthentication = failed('DG15 is not covered by a matching hash in the SOD, so its key cannot be trusted');
    return;
  }
  let dg15: Dg15;
  try {
    dg15 = parseDg15(input.dg15);
  } catch (error) {
    if (!(error instanceof IcaoFormatError)) throw error;
    result.checks.activeAuthentication = failed(`DG15 public key cannot be read (${error.code}): ${error.message}`);
    return;
  }
  if (!input.activeAuthentication) {
    result.checks.activeAuthentication = notChecked('the document supports Active Authentication but no challenge response was supplied');
    return;
  }
  const aa: ActiveAuthenticationResult = verifyActiveAuthentication({
    publicKey: dg15.publicKey,
    challenge: input.activeAuthentication.challenge,
    signature: input.activeAuthentication.signature,
    ecdsaHash: dg14?.activeAuthentication?.hash,
  });
  result.algorithms.activeAuthentication = aa.algorithm;
  result.checks.activeAuthentication = aa.ok ? ok(aa.reason) : failed(aa.reason);
}

/**
 * DG14 (read only when the SOD vouches for it) refines AA and CA. A malformed one is the issuer's
 * mistake, not a forgery, so it is a warning: AA then falls back to the default hash for the key.
 */
function readDg14(bytes: Uint8Array, result: VerificationResult): Dg14 | undefined {
  try {
    return parseDg14(bytes);
  } catch (error) {
    if (!(error instanceof IcaoFormatError)) throw error;
    result.warnings.push(`DG14 cannot be read (${error.code}): ${error.message}`);
    return undefined;
  }
}

/**
 * Chip Authentication needs the APDU exchange relayed through the server (it establishes new session
 * keys); from uploaded files alone we can only say whether the chip offers it.
 */
function checkChipAuthentication(dg14: Dg14 | undefined, result: VerificationResult): void {
  result.checks.chipAuthentication = dg14?.chipAuthenticationPublicKeys.length
    ? notChecked('the chip offers Chip Authentication; verifying it requires relaying the APDU exchange through the server')
    : notPresent('no authenticated DG14 with a Chip Authentication key');
}

function finish(result: VerificationResult): VerificationResult {
  const { sodSignature, dataGroupHashes, certificateChain, activeAuthentication } = result.checks;
  // A document without readable DG1 data cannot be accepted, whatever the signatures say.
  const chipVerified = [sodSignature, dataGroupHashes, certificateChain].every((c) => c.status === 'SUCCEEDED') && result.document !== null;
  if (!chipVerified) {
    result.verdict = 'rejected';
    for (const [name, check] of Object.entries({ sodSignature, dataGroupHashes, certificateChain })) {
      if (check.status === 'FAILED') result.reasons.push(`${name}: ${check.reason}`);
    }
  } else if (activeAuthentication.status === 'SUCCEEDED' || activeAuthentication.status === 'NOT_PRESENT') {
    result.verdict = 'accepted';
  } else {
    result.verdict = 'inconclusive';
    result.reasons.push(`activeAuthentication: ${activeAuthentication.reason}`);
  }
  return result;
}
