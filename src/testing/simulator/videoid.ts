import { readFileSync } from 'node:fs';
import { decodeOperationContext, type DeviceClient, type DeviceTransaction } from '../../sdk/device.js';
import { PROVIDER_ID } from '../../proofing/providers/videoid/cases.js';

/** What `reuseid device proof --provider signicatvideoid` sends: files read from disk, as the app would capture. */
export interface CaptureFiles {
  documentFront: string;
  documentBack?: string;
  selfie: string;
  video?: string;
  docType?: string;
  mrz?: string;
}

export async function submitVideoIdCapture(client: DeviceClient, transactionId: string, files: CaptureFiles): Promise<DeviceTransaction> {
  const encode = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path).toString('base64'));
  const body = {
    docType: files.docType === undefined ? await defaultDocType(client, transactionId) : Number(files.docType),
    documentFront: encode(files.documentFront),
    documentBack: encode(files.documentBack),
    selfie: encode(files.selfie),
    video: encode(files.video),
    mrz: files.mrz,
  };
  return client.call('POST', `/device/v1/transactions/${encodeURIComponent(transactionId)}/proofing/${PROVIDER_ID}`, body);
}

/** The document type the RP preselected (defaultId, else docType, else the first of docTypes). */
async function defaultDocType(client: DeviceClient, transactionId: string): Promise<number> {
  const view = await client.transaction(transactionId);
  const options = view.post_operation_context
    ? (decodeOperationContext(view.post_operation_context).providerOptions as { defaultId?: number; docType?: number; docTypes?: number[] } | undefined)
    : undefined;
  const docType = options?.defaultId ?? options?.docType ?? options?.docTypes?.[0];
  if (docType === undefined) throw new Error('The transaction allows any document type: pass --doc-type');
  return docType;
}
