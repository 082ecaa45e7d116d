import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Executor } from '../store/database.js';
import { isUniqueViolation } from '../store/database.js';
import { setDisabledAt } from '../store/disabling.js';
import { safeEqual, sha256Hex } from '../security/keyring.js';
import { isoTime, type Clock } from '../shared/runtime.js';
import type { ApiClientsTable } from '../store/schema.js';
import { isPermission, type Permission } from './permissions.js';

/**
 * Accounts (tenants) and their API clients. Client secrets are 256-bit random strings shown once and stored as
 * SHA-256: with that much entropy a slow hash adds latency to every token request and no protection.
 */
export const DEFAULT_ACCOUNT_ID = 'default';
export const DEFAULT_TOKEN_TTL_SECONDS = 600;
const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ApiClient {
  clientId: string;
  accountId: string;
  name: string;
  permissions: Permission[];
  tokenTtlSeconds: number;
}

export interface CreatedClient extends ApiClient {
  clientSecret: string;
}

/** What operators see of a client: everything but its secret hash. */
export interface ClientView extends ApiClient {
  enabled: boolean;
  createdAt: string;
  disabledAt: string | null;
}

type ClientRow = Selectable<ApiClientsTable>;

export class ClientValidationError extends Error {}

export class ClientStore {
  constructor(private readonly deps: { clock: Clock }) {}

  async ensureAccount(executor: Executor, accountId: string, name = accountId): Promise<{ created: boolean }> {
    if (!ACCOUNT_ID_PATTERN.test(accountId)) throw new ClientValidationError('Account IDs are 1–64 letters, digits, ".", "_" or "-"');
    try {
      const inserted = await executor
        .insertInto('accounts')
        .values({ id: accountId, name, created_at: this.deps.clock.now() })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      return { created: inserted.length > 0 };
    } catch (error) {
      if (isUniqueViolation(error)) return { created: false };
      throw error;
    }
  }

  async create(executor: Executor, input: { name: string; accountId?: string; permissions: string[]; tokenTtlSeconds?: number }): Promise<CreatedClient> {
    const name = input.name.trim();
    if (!name || name.length > 200) throw new ClientValidationError('A client name of 1–200 characters is required');
    const unknown = input.permissions.filter((p) => !isPermission(p));
    if (unknown.length) throw new ClientValidationError(`Unknown permission(s): ${unknown.join(', ')}`);
    const ttl = input.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600) throw new ClientValidationError('The token lifetime must be 1–3600 seconds');
    const accountId = input.accountId ?? DEFAULT_ACCOUNT_ID;
    await this.ensureAccount(executor, accountId);
    const client: CreatedClient = {
      clientId: `rid-${randomBytes(10).toString('hex')}`,
      clientSecret: newClientSecret(),
      accountId,
      name,
      permissions: [...new Set(input.permissions)] as Permission[],
      tokenTtlSeconds: ttl,
    };
    await executor
      .insertInto('api_clients')
      .values({
        id: client.clientId,
        account_id: accountId,
        name,
        secret_hash: sha256Hex(client.clientSecret),
        permissions: JSON.stringify(client.permissions),
        token_ttl_seconds: ttl,
        created_at: this.deps.clock.now(),
        disabled_at: null,
      })
      .execute();
    return client;
  }

  /** The client when the secret matches, else null; compares in constant time whether or not the client exists. */
  async authenticate(executor: Executor, clientId: string, clientSecret: string): Promise<ApiClient | null> {
    const row = clientId.length <= 200 ? await executor.selectFrom('api_clients').selectAll().where('id', '=', clientId).executeTakeFirst() : undefined;
    const presented = sha256Hex(clientSecret);
    const matches = safeEqual(presented, row?.secret_hash ?? sha256Hex('no such client'));
    if (!row || !matches || row.disabled_at !== null) return null;
    return toApiClient(row);
  }

  /** The clients of one account, or of every account, oldest first. */
  async list(executor: Executor, options: { accountId?: string } = {}): Promise<ClientView[]> {
    let query = executor.selectFrom('api_clients').selectAll().orderBy('created_at').orderBy('id');
    if (options.accountId !== undefined) query = query.where('account_id', '=', options.accountId);
    return (await query.execute()).map(toView);
  }

  async find(executor: Executor, clientId: string): Promise<ClientView | null> {
    const row = await executor.selectFrom('api_clients').selectAll().where('id', '=', clientId).executeTakeFirst();
    return row ? toView(row) : null;
  }

  /** Replaces the secret at once: the old one stops working with this change, without an overlap. Null when there is no such client. */
  async rotateSecret(executor: Executor, clientId: string): Promise<{ client: ClientView; clientSecret: string } | null> {
    const clientSecret = newClientSecret();
    const updated = await executor
      .updateTable('api_clients')
      .set({ secret_hash: sha256Hex(clientSecret) })
      .where('id', '=', clientId)
      .returningAll()
      .executeTakeFirst();
    return updated ? { client: toView(updated), clientSecret } : null;
  }

  /** `changed` is false when the client was in that state already (nothing to audit). Null when there is no such client. */
  async setDisabled(executor: Executor, clientId: string, disabled: boolean): Promise<{ client: ClientView; changed: boolean } | null> {
    const changed = await setDisabledAt(executor, 'api_clients', clientId, disabled ? this.deps.clock.now() : null);
    const client = await this.find(executor, clientId);
    return client ? { client, changed } : null;
  }

  /** Removes the client; tokens it was issued stay valid until they expire (at most its token lifetime). */
  async delete(executor: Executor, clientId: string): Promise<ClientView | null> {
    const deleted = await executor.deleteFrom('api_clients').where('id', '=', clientId).returningAll().executeTakeFirst();
    return deleted ? toView(deleted) : null;
  }
}

function newClientSecret(): string {
  return `rsec_${randomBytes(32).toString('base64url')}`;
}

function toApiClient(row: ClientRow): ApiClient {
  return {
    clientId: row.id,
    accountId: row.account_id,
    name: row.name,
    permissions: (JSON.parse(row.permissions) as string[]).filter(isPermission),
    tokenTtlSeconds: row.token_ttl_seconds,
  };
}

function toView(row: ClientRow): ClientView {
  return {
    ...toApiClient(row),
    enabled: row.disabled_at === null,
    createdAt: isoTime(Number(row.created_at)),
    disabledAt: row.disabled_at === null ? null : isoTime(Number(row.disabled_at)),
  };
}
