import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signActiveAuthentication } from '../../src/icao/index.js';
import { generateCsca, generatePassport, type CscaMaterial, type GeneratedPassport, type PassportOptions } from '../../src/testing/passports/generator.js';
import { decodeOperationContext, type DeviceClient, type DeviceTransaction } from '../../src/sdk/device.js';

/** A test CSCA and a trust-store folder holding only it, for REUSEID_TRUST_STORE. */
export function trustedCsca(): { csca: CscaMaterial; dir: string; remove(): void } {
  const csca = generateCsca({ algorithm: 'ecdsa-p256', issuingState: 'UTO' });
  const dir = mkdtempSync(join(tmpdir(), 'reuseid-trust-'));
  writeFileSync(join(dir, 'csca.pem'), csca.certificatePem);
  return { csca, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const passport = (csca: CscaMaterial, options: PassportOptions = {}) => generatePassport({ csca, ...options });

export interface ReadIdAnswer extends DeviceTransaction {
  readid: { attempt: number; maxAttempts: number; verdict: string; reason?: string; checks: Record<string, string> };
}

export interface ReadInstructions {
  read: string[];
  activeAuthentication: { challenge: string; expiresAt: string };
  attempt: number;
  maxAttempts: number;
  previousAttempt?: { verdict: string; reason: string | null };
  selfie: { maxBytes: number; imageTypes: string[] };
}

export async function instructions(device: DeviceClient, transactionId: string): Promise<ReadInstructions> {
  const view = await device.transaction(transactionId);
  return decodeOperationContext(view.post_operation_context!).readid as ReadInstructions;
}

export interface UploadOptions {
  /** The challenge the upload names (default: the current one). */
  challenge?: string;
  /** What the chip signs (default: the named challenge); a different value makes a wrong answer. */
  signed?: Buffer;
  /** A signature to send as is (a replay). */
  signature?: string;
  /** Leave active authentication out. */
  withoutAa?: boolean;
  /** The user's selfie, sent as it is. */
  selfie?: Buffer;
}

/** The upload body an app sends for this passport. */
export async function uploadBody(device: DeviceClient, transactionId: string, doc: GeneratedPassport, options: UploadOptions = {}) {
  const f = doc.files;
  const b64 = (bytes: Buffer | undefined) => bytes?.toString('base64');
  const body: Record<string, unknown> = {
    sod: b64(f['EF_SOD.bin']),
    dg1: b64(f['EF_DG1.bin']),
    dg2: b64(f['EF_DG2.bin']),
    dg14: b64(f['EF_DG14.bin']),
    dg15: b64(f['EF_DG15.bin']),
    com: b64(f['EF_COM.bin']),
    selfie: b64(options.selfie),
  };
  if (options.withoutAa || !doc.chipPrivateKeyPem) return body;
  const challenge = options.challenge ?? (await instructions(device, transactionId)).activeAuthentication.challenge;
  const signature = options.signature ?? signActiveAuthentication(doc.chipPrivateKeyPem, options.signed ?? Buffer.from(challenge, 'hex')).toString('base64');
  return { ...body, activeAuthentication: { challenge, signature } };
}

export const readIdPath = (transactionId: string) => `/device/v1/transactions/${transactionId}/proofing/readid`;

export async function upload(device: DeviceClient, transactionId: string, doc: GeneratedPassport, options: UploadOptions = {}): Promise<ReadIdAnswer> {
  return device.call<ReadIdAnswer>('POST', readIdPath(transactionId), await uploadBody(device, transactionId, doc, options));
}
