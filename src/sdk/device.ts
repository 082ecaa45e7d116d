import { createHash, randomBytes } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { decodeOperationContext } from '../devices/contexts.js';
import type { ActivationResult, DeviceTransaction, OperationContext, PendingOperation, SignicatOperation } from '../devices/schemas.js';
import type { ReadIdUpload } from '../proofing/providers/readid/upload.js';

export { decodeOperationContext };

/**
 * The reference device client: what a mobile app does, in a few short functions. A real app keeps the private key
 * in the platform keystore (Secure Enclave, StrongBox) and never exports it; this SDK keeps it in a state object so
 * that the simulator can persist it between commands.
 *
 * 1. activate(): prove possession of a fresh P-256 key while presenting the activation code;
 * 2. pendingOperations() / decide(): approve (or refuse) a step-up by signing its challenge;
 * 3. every later call is a signed request: a JWS over method, URL, body hash, time and a single-use jti.
 */
export interface DeviceState {
  serverUrl: string;
  privateJwk: JWK;
  publicJwk: JWK;
  deviceId?: string;
  userId?: string;
}

export type { DeviceTransaction, OperationContext, PendingOperation, SignicatOperation, ReadIdUpload };

/** The device's view after a ReadID upload, with the attempt's verdict and per-check results. */
export type ReadIdResult = DeviceTransaction & {
  readid: { attempt: number; maxAttempts: number; verdict: string; reason?: string; checks: Record<string, string> };
};

export class DeviceApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`Device API answered ${status}: ${JSON.stringify(body)}`);
  }
}

type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{ status: number; text(): Promise<string> }>;

const ALG = 'ES256';

export class DeviceClient {
  private privateKey?: CryptoKey;

  constructor(
    readonly state: DeviceState,
    private readonly fetchImpl: Fetch = fetch as unknown as Fetch,
  ) {}

  /** A new device with a fresh key pair (the app's first start). */
  static async create(serverUrl: string, fetchImpl?: Fetch): Promise<DeviceClient> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
    const state: DeviceState = { serverUrl: serverUrl.replace(/\/+$/, ''), privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
    return new DeviceClient(state, fetchImpl);
  }

  async activate(activationCode: string): Promise<ActivationResult> {
    const proof = await this.sign(
      { activationCode, aud: this.state.serverUrl, iat: nowSeconds() },
      { typ: 'reuseid-activation+jwt', jwk: this.state.publicJwk },
    );
    const result = await this.call<ActivationResult>('POST', '/device/v1/activations', { activationCode, proof }, false);
    this.state.deviceId = result.deviceId;
    this.state.userId = result.userId;
    return result;
  }

  async pendingOperations(): Promise<PendingOperation[]> {
    return (await this.call<{ operations: PendingOperation[] }>('GET', '/device/v1/operations')).operations;
  }

  /** Approves (or refuses) an operation by signing its challenge with the device key. */
  async decide(operation: Pick<PendingOperation, 'operationId' | 'challenge'>, decision: 'approve' | 'reject' = 'approve'): Promise<DeviceTransaction> {
    const signature = await this.sign(
      { operationId: operation.operationId, challenge: operation.challenge, decision, iat: nowSeconds() },
      { typ: 'reuseid-approval+jwt' },
    );
    return this.call('POST', `/device/v1/operations/${encodeURIComponent(operation.operationId)}/decision`, { signature });
  }

  async transaction(transactionId: string): Promise<DeviceTransaction> {
    return this.call('GET', `/device/v1/transactions/${encodeURIComponent(transactionId)}`);
  }

  /**
   * ReadID: the chip files as read (base64), the chip's answer to the challenge of the post-operation context, and
   * optionally the user's selfie (JPEG or PNG, base64) for the server to compare with the chip's photo.
   */
  async uploadReadId(transactionId: string, upload: ReadIdUpload): Promise<ReadIdResult> {
    return this.call('POST', `/device/v1/transactions/${encodeURIComponent(transactionId)}/proofing/readid`, upload);
  }

  /** A signed request to any device endpoint (providers' evidence uploads use this). */
  async call<T>(method: string, path: string, body?: unknown, signed = true): Promise<T> {
    const url = `${this.state.serverUrl}${path}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (text !== undefined) headers['content-type'] = 'application/json';
    if (signed) headers.authorization = `ReuseID-Device ${await this.signRequest(method, url, text)}`;
    const response = await this.fetchImpl(url, { method, headers, ...(text !== undefined ? { body: text } : {}) });
    const responseText = await response.text();
    const parsed = responseText ? (JSON.parse(responseText) as unknown) : undefined;
    if (response.status >= 400) throw new DeviceApiError(response.status, parsed);
    return parsed as T;
  }

  private async signRequest(method: string, url: string, body: string | undefined): Promise<string> {
    if (!this.state.deviceId) throw new Error('The device is not activated yet');
    return this.sign(
      {
        htm: method,
        htu: url,
        iat: nowSeconds(),
        jti: randomBytes(16).toString('base64url'),
        bh: createHash('sha256')
          .update(body ?? '')
          .digest('base64url'),
      },
      { typ: 'reuseid-device+jwt', kid: this.state.deviceId },
    );
  }

  private async sign(payload: Record<string, unknown>, header: Record<string, unknown>): Promise<string> {
    this.privateKey ??= (await importJWK(this.state.privateJwk, ALG)) as CryptoKey;
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: ALG, ...header }).sign(this.privateKey);
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
