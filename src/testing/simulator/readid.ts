import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signActiveAuthentication } from '../../icao/index.js';
import { decodeOperationContext, type DeviceClient, type ReadIdResult, type ReadIdUpload } from '../../sdk/device.js';

/** The chip files in a directory written by `reuseid passport generate`, by upload field. */
const CHIP_FILES = { sod: 'EF_SOD.bin', dg1: 'EF_DG1.bin', dg2: 'EF_DG2.bin', dg14: 'EF_DG14.bin', dg15: 'EF_DG15.bin', com: 'EF_COM.bin' } as const;

/**
 * What `reuseid device proof --provider readid --passport DIR [--selfie FILE]` does, as an app would: read the chip
 * files, answer the challenge of the post-operation context with the chip's key (INTERNAL AUTHENTICATE), upload them
 * with the selfie. The selfie goes as it is: the server, not the simulator, decides what it accepts.
 */
export async function submitReadIdPassport(
  client: DeviceClient,
  transactionId: string,
  passportDir: string,
  options: { selfie?: string } = {},
): Promise<ReadIdResult> {
  const read = (name: string) => {
    const path = join(passportDir, name);
    return existsSync(path) ? readFileSync(path) : undefined;
  };
  const file = (name: string) => read(name)?.toString('base64');
  const [sod, dg1] = [file(CHIP_FILES.sod), file(CHIP_FILES.dg1)];
  if (!sod || !dg1) throw new Error(`${passportDir} lacks ${CHIP_FILES.sod} or ${CHIP_FILES.dg1}`);
  const body: ReadIdUpload = { sod, dg1, dg2: file(CHIP_FILES.dg2), dg14: file(CHIP_FILES.dg14), dg15: file(CHIP_FILES.dg15), com: file(CHIP_FILES.com) };
  if (options.selfie !== undefined) body.selfie = readSelfie(options.selfie);
  const chipKey = read('chip-key.pem');
  if (body.dg15 && chipKey) {
    const challenge = await currentChallenge(client, transactionId);
    body.activeAuthentication = { challenge, signature: signActiveAuthentication(chipKey.toString('utf8'), Buffer.from(challenge, 'hex')).toString('base64') };
  }
  return client.uploadReadId(transactionId, body);
}

function readSelfie(path: string): string {
  try {
    return readFileSync(path).toString('base64');
  } catch (error) {
    throw new Error(`Cannot read the selfie ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function currentChallenge(client: DeviceClient, transactionId: string): Promise<string> {
  const view = await client.transaction(transactionId);
  const operation = view.post_operation_context ? decodeOperationContext(view.post_operation_context) : undefined;
  const challenge = (operation?.readid as { activeAuthentication?: { challenge?: string } } | undefined)?.activeAuthentication?.challenge;
  if (!challenge) throw new Error(`Transaction ${transactionId} is not waiting for ReadID proofing (status ${view.status}, stage ${view.stage})`);
  return challenge;
}
