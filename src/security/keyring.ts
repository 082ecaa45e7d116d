import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Encryption at rest and keyed hashing.
 *
 * - A 32-byte master key (from REUSEID_MASTER_KEY, a key file, or generated beside an SQLite database) never lives
 *   in the database, so a database dump or backup alone reveals no personal data.
 * - Each user gets a random data key, stored only sealed by the master key. Personal data and evidence are sealed
 *   with the user's data key: deleting that one sealed key erases the user's data, backups included.
 * - Low-entropy secrets (activation codes) are stored as HMACs under a key derived from the master key, so that
 *   the table cannot be brute-forced offline without the key.
 */
export class Keyring {
  private readonly sealKey: Buffer;
  private readonly hashKey: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('The master key must be 32 bytes');
    this.sealKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'reuseid seal v1', 32));
    this.hashKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'reuseid keyed hash v1', 32));
  }

  /** A fresh data key for a user, returned sealed for storage. */
  newDataKey(userId: string): string {
    return sealWith(this.sealKey, randomBytes(32), `user-key:${userId}`);
  }

  /** Opens a user's sealed data key, giving a cipher bound to that user. */
  userCipher(userId: string, sealedDataKey: string): DataCipher {
    return new DataCipher(openWith(this.sealKey, sealedDataKey, `user-key:${userId}`));
  }

  /** A cipher under the master-derived key, for server secrets that belong to no user (signing keys). */
  serverCipher(): DataCipher {
    return new DataCipher(this.sealKey);
  }

  /** Keyed hash (HMAC-SHA256, hex) of a low-entropy secret, namespaced by purpose. */
  keyedHash(purpose: string, value: string): string {
    return createHmac('sha256', this.hashKey).update(`${purpose}\0${value}`).digest('hex');
  }
}

/** AES-256-GCM with associated data naming what a ciphertext is, so ciphertexts cannot be swapped between rows. */
export class DataCipher {
  constructor(private readonly key: Buffer) {}

  seal(plaintext: Buffer | string, context: string): string {
    return sealWith(this.key, Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext, 'utf8'), context);
  }

  open(sealed: string, context: string): Buffer {
    return openWith(this.key, sealed, context);
  }

  sealJson(value: unknown, context: string): string {
    return this.seal(JSON.stringify(value), context);
  }

  openJson<T>(sealed: string, context: string): T {
    return JSON.parse(this.open(sealed, context).toString('utf8')) as T;
  }
}

const VERSION = 'v1';

function sealWith(key: Buffer, plaintext: Buffer, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

function openWith(key: Buffer, sealed: string, context: string): Buffer {
  const [version, ivText, bodyText] = sealed.split('.');
  if (version !== VERSION || !ivText || !bodyText) throw new Error('Unreadable sealed value');
  const body = Buffer.from(bodyText, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
}

/** SHA-256 (hex) for high-entropy secrets such as generated client secrets, where a slow hash buys nothing. */
export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Constant-time comparison of two strings (hex digests, tokens). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** Parses a master key given as 64 hex characters or base64 of 32 bytes. */
export function parseMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new Error('REUSEID_MASTER_KEY must be 32 bytes, as 64 hex characters or base64');
  return key;
}

/**
 * Finds the master key: the explicit key, else the key file, else (SQLite only, for the one-command start) a key
 * file beside the database, created on first start with owner-only permissions.
 */
export function loadMasterKey(options: { masterKey?: string; masterKeyFile?: string; databaseUrl: string }): Buffer {
  if (options.masterKey) return parseMasterKey(options.masterKey);
  if (options.masterKeyFile) return parseMasterKey(readFileSync(options.masterKeyFile, 'utf8'));
  if (!options.databaseUrl.startsWith('sqlite:') || options.databaseUrl === 'sqlite::memory:') {
    throw new Error('Set REUSEID_MASTER_KEY (or REUSEID_MASTER_KEY_FILE) when the database is not a local SQLite file');
  }
  const file = `${dirname(options.databaseUrl.slice('sqlite:'.length))}/master.key`;
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return parseMasterKey(readFileSync(file, 'utf8'));
}

/** The plaintext size of a sealed value, without opening it (the GCM tag is 16 bytes): evidence metadata in exports. */
export function sealedPlaintextSize(sealed: string): number {
  const body = sealed.split('.')[2] ?? '';
  return Math.max(0, Buffer.byteLength(body, 'base64url') - 16);
}
