import type { DataCipher } from '../security/keyring.js';
import { errors } from '../shared/errors.js';

/**
 * Page cursors: a query and where its page ended, sealed with the server cipher and bound to the account, so that a
 * cursor can neither be forged, nor read, nor replayed by another account. Used by the audit query and user lookup.
 */
export function sealCursor<T extends { accountId: string }>(cipher: DataCipher, context: string, cursor: T): string {
  return encodeURIComponent(cipher.sealJson(cursor, context));
}

/** The cursor's content, or 422 naming `cursor` when this server did not issue it for this account. */
export function openCursor<T extends { accountId: string }>(cipher: DataCipher, context: string, accountId: string, cursor: string): T {
  let opened: T | undefined;
  try {
    opened = cipher.openJson<T>(cursor, context);
  } catch {
    opened = undefined;
  }
  if (!opened || opened.accountId !== accountId)
    throw errors.invalidParameters([{ name: 'cursor', reason: 'not a cursor this server issued for this account' }]);
  return opened;
}
