/**
 * The verifier's trust anchors: CSCA certificates (from PEM/DER files or ICAO master lists) and the CRLs
 * the CSCAs publish. Nothing here is trusted because of where it came from inside a file: a master list's
 * own signature is checked and reported, but the operator's act of importing it is what confers trust.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { signatureScheme, verifySignature } from './algorithms.js';
import { asSequence, asSet, childrenOf, formatName, parseDer, serialHex, smallIntOf } from './asn1.js';
import { type CertificateInfo, describeCertificate, isValidAt, namesEqual, parseCertificate, pemBlocks, verifyIssuedBy } from './certificates.js';
import { CONTENT_TYPES, findSignerCertificate, parseSignedData, verifySignerInfo } from './cms.js';
import { IcaoFormatError, SIZE_LIMITS, checkSize, guard } from './errors.js';
import { BoundedCache } from './memo.js';

/** Where `reuseid trust import` writes and the server looks when REUSEID_TRUST_STORE is not set. */
export const DEFAULT_TRUST_STORE = './data/trust-store';

export const TRUST_STORE_EXTENSIONS = ['.pem', '.crt', '.cer', '.der', '.ml', '.crl', '.bin'] as const;

export interface CrlInfo {
  crl: pkijs.CertificateRevocationList;
  issuer: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Revoked serial numbers (hex) → revocation date. */
  revoked: Map<string, Date>;
  source: string;
}

export interface MasterListInfo {
  source: string;
  certificateCount: number;
  /** Whether the master list's CMS signature verified with its embedded signer certificate. */
  signatureValid: boolean;
  /** Whether that signer certificate was issued by a CSCA in the trust store. */
  signerTrusted: boolean;
  signer?: string;
  reason: string;
}

export interface LoadProblem {
  source: string;
  code: string;
  message: string;
}

export type ImportedItem =
  | { kind: 'certificate'; source: string; subject: string; serialNumber: string; isCA: boolean }
  | { kind: 'masterList'; source: string; info: MasterListInfo }
  | { kind: 'crl'; source: string; issuer: string; revokedCount: number };

export type RevocationStatus = { status: 'revoked'; reason: string } | { status: 'good'; reason: string } | { status: 'unknown'; reason: string };

export type ChainResult =
  | { ok: true; csca: CertificateInfo; algorithm: string; reason: string }
  | { ok: false; csca?: CertificateInfo; algorithm?: string; reason: string };

export class TrustStore {
  private readonly anchors = new Map<string, CertificateInfo>();
  private readonly crls: CrlInfo[] = [];
  /** Certificate signature checks are the costly step and DS certificates repeat across documents. */
  // One entry per (DS, CSCA) pair seen: the DS→CSCA signature of a batch's documents is checked once.
  private readonly signatureCache = new BoundedCache<{ ok: boolean; algorithm: string; reason?: string }>(10_000);
  readonly masterLists: MasterListInfo[] = [];
  readonly problems: LoadProblem[] = [];

  get certificates(): CertificateInfo[] {
    return [...this.anchors.values()];
  }

  get revocationLists(): readonly CrlInfo[] {
    return this.crls;
  }

  /** Adds one CSCA (or link) certificate. Duplicates (same DER) are ignored. */
  addCertificate(der: Uint8Array, source = 'memory'): CertificateInfo {
    return this.addParsedCertificate(parseCertificate(der, `${source} certificate`));
  }

  private addParsedCertificate(info: CertificateInfo): CertificateInfo {
    const existing = this.anchors.get(info.fingerprint);
    if (existing) return existing;
    this.anchors.set(info.fingerprint, info);
    return info;
  }

  addCrl(der: Uint8Array, source = 'memory'): CrlInfo {
    checkSize(der, SIZE_LIMITS.crl, `${source} CRL`);
    const block = parseDer(Buffer.from(der), `${source} CRL`, 2_000_000); // a copy: the store keeps the CRL
    const crl = guard('BAD_CRL', `${source} CRL`, () => new pkijs.CertificateRevocationList({ schema: block }));
    const revoked = new Map<string, Date>();
    for (const entry of crl.revokedCertificates ?? []) revoked.set(serialHex(entry.userCertificate), entry.revocationDate.value);
    const info: CrlInfo = { crl, issuer: formatName(crl.issuer), thisUpdate: crl.thisUpdate.value, nextUpdate: crl.nextUpdate?.value, revoked, source };
    this.crls.push(info);
    return info;
  }

  /**
   * Loads a CSCA master list: ContentInfo → SignedData with eContentType id-icao-cscaMasterList and
   * eContent CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }.
   */
  addMasterList(der: Uint8Array, source = 'memory'): MasterListInfo {
    checkSize(der, SIZE_LIMITS.masterList, `${source} master list`);
    const signed = parseSignedData(der, `${source} master list`, CONTENT_TYPES.cscaMasterList);
    const list = asSequence(parseDer(signed.eContent, 'CscaMasterList', 2_000_000), 'CscaMasterList');
    const [versionBlock, certSet] = childrenOf(list);
    smallIntOf(versionBlock, 'CscaMasterList version');
    const certs = childrenOf(asSet(certSet, 'CscaMasterList certList')).map((block, i) =>
      describeCertificate(guard('BAD_MASTER_LIST', `master list certificate ${i}`, () => new pkijs.Certificate({ schema: block }))),
    );
    for (const cert of certs) this.addParsedCertificate(cert);
    const info: MasterListInfo = { source, certificateCount: certs.length, ...this.checkMasterListSignature(signed) };
    this.masterLists.push(info);
    return info;
  }

  private checkMasterListSignature(signed: ReturnType<typeof parseSignedData>): Omit<MasterListInfo, 'source' | 'certificateCount'> {
    const [signerInfo] = signed.signerInfos;
    if (!signerInfo) return { signatureValid: false, signerTrusted: false, reason: 'master list has no SignerInfo' };
    const signerCert = findSignerCertificate(signerInfo.sid, signed.certificates);
    if (!signerCert) return { signatureValid: false, signerTrusted: false, reason: 'master list signer certificate is not embedded' };
    const signature = verifySignerInfo(signerInfo, signed, signerCert.publicKey);
    const chain = signature.ok ? this.findVerifiedIssuer(signerCert) : undefined;
    return {
      signatureValid: signature.ok,
      signerTrusted: chain?.ok === true,
      signer: signerCert.subject,
      reason: !signature.ok ? signature.reason : (chain?.reason ?? 'signer not checked'),
    };
  }

  /** Reads PEM text (any number of CERTIFICATE and X509 CRL blocks) or sniffs DER. */
  addBytes(bytes: Uint8Array, source = 'memory'): ImportedItem[] {
    const text = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
    if (text.includes('-----BEGIN')) return this.addPem(Buffer.from(bytes).toString('latin1'), source);
    return [this.addDer(bytes, source)];
  }

  addPem(text: string, source = 'memory'): ImportedItem[] {
    const items: ImportedItem[] = [];
    for (const der of pemBlocks(text, 'CERTIFICATE')) items.push(this.certificateItem(this.addCertificate(der, source), source));
    for (const der of pemBlocks(text, 'X509 CRL')) items.push(this.crlItem(this.addCrl(der, source)));
    if (items.length === 0) throw new IcaoFormatError('UNKNOWN_FILE_TYPE', `${source}: no CERTIFICATE or X509 CRL block`);
    return items;
  }

  /** A DER file: ContentInfo (master list), Certificate or CRL, told apart by their ASN.1 shape. */
  addDer(bytes: Uint8Array, source = 'memory'): ImportedItem {
    const top = childrenOf(asSequence(parseDer(bytes, source, 2_000_000), source));
    if (top[0] instanceof asn1js.ObjectIdentifier) return { kind: 'masterList', source, info: this.addMasterList(bytes, source) };
    // TBSCertificate has Validity (a SEQUENCE) where TBSCertList has thisUpdate (a time) after the issuer.
    const tbs = childrenOf(top[0]);
    const afterIssuer = tbs.findIndex((b) => b instanceof asn1js.UTCTime || b instanceof asn1js.GeneralizedTime);
    if (afterIssuer >= 0 && afterIssuer <= 3) return this.crlItem(this.addCrl(bytes, source));
    return this.certificateItem(this.addCertificate(bytes, source), source);
  }

  private certificateItem(cert: CertificateInfo, source: string): ImportedItem {
    return { kind: 'certificate', source, subject: cert.subject, serialNumber: cert.serialNumber, isCA: cert.isCA };
  }

  private crlItem(crl: CrlInfo): ImportedItem {
    return { kind: 'crl', source: crl.source, issuer: crl.issuer, revokedCount: crl.revoked.size };
  }

  /**
   * Candidate issuers of `cert`: those whose subjectKeyIdentifier equals its authorityKeyIdentifier, then
   * those whose subject DN equals its issuer DN (older certificates lack key identifiers; renewed CSCAs
   * share a DN, so the signature decides among candidates).
   */
  findIssuerCandidates(cert: CertificateInfo): CertificateInfo[] {
    const all = this.certificates;
    const aki = cert.authorityKeyIdentifier;
    const byKeyId = aki ? all.filter((c) => c.subjectKeyIdentifier?.equals(aki)) : [];
    const byName = all.filter((c) => !byKeyId.includes(c) && namesEqual(c.cert.subject, cert.cert.issuer));
    return [...byKeyId, ...byName];
  }

  /** The first candidate issuer whose key verifies `cert`'s signature. */
  findVerifiedIssuer(cert: CertificateInfo): ChainResult {
    const candidates = this.findIssuerCandidates(cert);
    if (candidates.length === 0) return { ok: false, reason: `no trusted CSCA matches issuer "${cert.issuer}"` };
    let last: { ok: boolean; algorithm: string; reason?: string } | undefined;
    for (const csca of candidates) {
      last = this.cachedIssuedBy(cert, csca);
      if (last.ok) return { ok: true, csca, algorithm: last.algorithm, reason: `issued by trusted CSCA "${csca.subject}"` };
    }
    return {
      ok: false,
      algorithm: last?.algorithm,
      reason: `certificate signature does not verify with any of ${candidates.length} trusted CSCA(s) named "${cert.issuer}": ${last?.reason ?? ''}`,
    };
  }

  private cachedIssuedBy(cert: CertificateInfo, issuer: CertificateInfo) {
    return this.signatureCache.get(`${cert.fingerprint}:${issuer.fingerprint}`, () => verifyIssuedBy(cert, issuer));
  }

  /**
   * Revocation of `cert` by CRLs of `issuer`: only CRLs whose issuer DN is the CSCA's subject and whose
   * signature verifies with the CSCA key count, so a forged CRL can neither revoke nor clear. A listed DS
   * fails whatever its revocation date: DS certificates are revoked on key compromise, and whoever holds
   * a compromised key can also backdate signingTime.
   */
  revocationStatus(cert: CertificateInfo, issuer: CertificateInfo): RevocationStatus {
    const crls = this.crls.filter((c) => namesEqual(c.crl.issuer, issuer.cert.subject) && this.crlSignedBy(c, issuer));
    if (crls.length === 0) return { status: 'unknown', reason: 'no CRL of the issuing CSCA in the trust store' };
    for (const crl of crls) {
      const revokedAt = crl.revoked.get(cert.serialNumber);
      if (revokedAt) {
        return { status: 'revoked', reason: `serial ${cert.serialNumber} revoked on ${revokedAt.toISOString().slice(0, 10)} (CRL ${crl.source})` };
      }
    }
    return { status: 'good', reason: `not listed in ${crls.length} CRL(s) of the CSCA` };
  }

  private crlSignedBy(crl: CrlInfo, issuer: CertificateInfo): boolean {
    try {
      const scheme = signatureScheme(crl.crl.signatureAlgorithm);
      return verifySignature(scheme, issuer.publicKey, crl.crl.tbsView, crl.crl.signatureValue.valueBlock.valueHexView);
    } catch {
      return false;
    }
  }

  /**
   * Validates a DS certificate against the store at `at`: DS key usage and validity, a trusted CSCA that
   * signed it, the CSCA's CA status and validity, and the CSCA's CRLs.
   */
  validateDocumentSigner(ds: CertificateInfo, at: Date): ChainResult {
    if (!ds.keyUsage?.digitalSignature) return { ok: false, reason: 'DS certificate lacks keyUsage digitalSignature' };
    if (!isValidAt(ds, at)) {
      return { ok: false, reason: `DS certificate is not valid on ${at.toISOString()} (valid ${ds.notBefore.toISOString()} to ${ds.notAfter.toISOString()})` };
    }
    const issued = this.findVerifiedIssuer(ds);
    if (!issued.ok) return issued;
    const { csca, algorithm } = issued;
    if (!csca.isCA) return { ok: false, csca, algorithm, reason: `CSCA "${csca.subject}" is not a CA (basicConstraints)` };
    if (csca.keyUsage && !csca.keyUsage.keyCertSign) return { ok: false, csca, algorithm, reason: `CSCA "${csca.subject}" lacks keyUsage keyCertSign` };
    if (!isValidAt(csca, at)) return { ok: false, csca, algorithm, reason: `CSCA "${csca.subject}" is not valid on ${at.toISOString()}` };
    const revocation = this.revocationStatus(ds, csca);
    if (revocation.status === 'revoked') return { ok: false, csca, algorithm, reason: `DS certificate revoked: ${revocation.reason}` };
    return { ok: true, csca, algorithm, reason: `DS certificate issued by trusted CSCA "${csca.subject}" (${algorithm}); revocation: ${revocation.reason}` };
  }

  /** Loads one file, recording (not throwing) format problems so one bad file does not hide the others. */
  async addFile(path: string): Promise<ImportedItem[]> {
    try {
      const info = await stat(path);
      if (info.size > SIZE_LIMITS.masterList) throw new IcaoFormatError('TOO_LARGE', `${path} is ${info.size} bytes`);
      const bytes = await readFile(path);
      return extname(path).toLowerCase() === '.ml' ? [{ kind: 'masterList', source: path, info: this.addMasterList(bytes, path) }] : this.addBytes(bytes, path);
    } catch (error) {
      const code = error instanceof IcaoFormatError ? error.code : 'UNREADABLE_FILE';
      this.problems.push({ source: path, code, message: (error as Error).message });
      return [];
    }
  }
}

/** Files under `dir` (recursively) with a trust-store extension, sorted for a deterministic load order. */
export async function listTrustFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(async (e) => {
        const full = join(path, e.name);
        if (e.isDirectory()) return listTrustFiles(full);
        return (TRUST_STORE_EXTENSIONS as readonly string[]).includes(extname(e.name).toLowerCase()) ? [full] : [];
      }),
  );
  return nested.flat();
}

/**
 * Builds a trust store from a file or a folder. A missing path throws (that is a configuration error);
 * unreadable or malformed files inside are listed in `store.problems`.
 */
export async function loadTrustStore(path: string): Promise<TrustStore> {
  const store = new TrustStore();
  for (const file of await listTrustFiles(path)) await store.addFile(file);
  return store;
}
