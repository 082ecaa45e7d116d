import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { z } from 'zod';
import { WalletError } from './errors.js';

/**
 * The wallet's state file: the holder's private key and the credentials it holds. A real wallet keeps the key in the
 * platform keystore; this one keeps it in a file only its owner can read, written whole or not at all.
 */
const privateP256Jwk = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string().min(1), y: z.string().min(1), d: z.string().min(1) });

const storedCredential = z.object({
  issuer: z.string(),
  configurationId: z.string(),
  credential: z.string().min(1),
  receivedAt: z.string(),
});

const walletState = z.object({ version: z.literal(1), holderKey: privateP256Jwk, credentials: z.array(storedCredential) });

export type WalletState = z.infer<typeof walletState>;
export type StoredCredential = z.infer<typeof storedCredential>;

/** The state at `path`, or undefined when there is no file yet. */
export async function readState(path: string): Promise<WalletState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WalletError('invalid_state', `Cannot read the wallet state ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WalletError('invalid_state', `The wallet state ${path} is not JSON`);
  }
  const parsed = walletState.safeParse(json);
  if (!parsed.success)
    throw new WalletError(
      'invalid_state',
      `The wallet state ${path} is not a version 1 wallet state (${parsed.error.issues.map((i) => i.path.join('.') || 'file').join(', ')})`,
    );
  return parsed.data;
}

/** A new wallet: a fresh P-256 holder key and no credentials. */
export async function newState(): Promise<WalletState> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { version: 1, holderKey: privateP256Jwk.parse(await exportJWK(privateKey)), credentials: [] };
}

/** The holder's public key, as it goes into a proof's `jwk` header (and comes back in the credential's `cnf.jwk`). */
export function holderPublicJwk(state: WalletState): JWK {
  const { kty, crv, x, y } = state.holderKey;
  return { kty, crv, x, y };
}

/**
 * Written to a temporary file beside the target (created 0600, never readable by others even for a moment), flushed,
 * then renamed over it: a crash leaves the old state or the new one, never half of either.
 */
export async function writeState(path: string, state: WalletState): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temporary, 'wx', 0o600);
  try {
    try {
      await file.writeFile(`${JSON.stringify(state, null, 2)}\n`, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
