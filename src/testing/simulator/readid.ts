import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signActiveAuthentication } from '../../icao/index.js';
import { decodeOperationContext, type DeviceClient, type DeviceTransaction } from '../../sdk/device.js';
import { PROVIDER_ID } from '../../proofing/providers/readid/proofing.js';

/** The chip files in a directory written by `reuseid passport generate`, by upload field. */
const CHIP_FILES = { sod: 'EF_SOD.bin', dg1: 'EF_DG1.bin', dg2: 'EF_DG2.bin', dg14: 'EF_DG14.bin', dg15: 'EF_DG15.bin', com: 'EF_COM.bin' } as const;

export type ReadIdResult = DeviceTransaction & { readid: { attempt: number; verdict: string; reason?: string; checks: Record<string, string> } };

/**
 * What `reuseid device proof --provider readid --passport DIR` does, as an app would: read the chip files, answer the
 * challenge of the post-operation context with the chip's key (INTERNAL AUTHENTICATE), upload.
 */
export async function submitReadIdPassport(client: DeviceClient, transactionId: string, passportDir: string): Promise<ReadIdResult> {
  const read = (name: string) => {
    const path = join(passportDir, name);
    return existsSync(path) ? readFileSync(path) : undefined;
  };
  const body: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(CHIP_FILES)) body[field] = read(name)?.toString('base64');
  if (!body.sod || !body.dg1) throw new Error(`${passportDir} lacks ${CHIP_FILES.sod} or ${CHIP_FILES.dg1}`);
  const chipKey = read('chip-key.pem');
  if (body.dg15 && chipKey) {
    const challenge = await currentChallenge(client, transactionId);
    body.activeAuthentication = { challenge, signature: signActiveAuthentication(chipKey.toString('utf8'), Buffer.from(challenge, 'hex')).toString('base64') };
  }
  return client.call('POST', `/device/v1/transactions/${encodeURIComponent(transactionId)}/proofing/${PROVIDER_ID}`, body);
}

async function currentChallenge(client: DeviceClient, transactionId: string): Promise<string> {
  const view = await client.transaction(transactionId);
  const operation = view.post_operation_context ? decodeOperationContext(view.post_operation_context) : undefined;
  const challenge = (operation?.readid as { activeAuthentication?: { challenge?: string } } | undefined)?.activeAuthentication?.challenge;
  if (!challenge) throw new Error(`Transaction ${transactionId} is not waiting for ReadID proofing (status ${view.status}, stage ${view.stage})`);
  return challenge;
}
