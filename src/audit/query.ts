import type { z } from 'zod';
import { openCursor, sealCursor } from '../http/cursors.js';
import { apiError, errors } from '../shared/errors.js';
import type { DataCipher } from '../security/keyring.js';
import type { Executor } from '../store/database.js';
import { parseAuditBody, type AuditItem } from './log.js';
import { type AuditQueryBody, MAX_AUDIT_LIMIT } from './schemas.js';
import { AUDIT_FIELD_COLUMNS } from './tables.js';

/**
 * The Signicat audit query: `{and: [{field, operator, value}], from, to, limit}`, newest first. `to` defaults to
 * now, `from` to 30 days before `to`, the span is at most 60 days, `limit` at most 1000 (the default). A page that
 * may have a successor carries `next`, a URL holding a sealed cursor: the whole query plus where the page ended, bound
 * to the account, so that it can neither be forged nor replayed by another account.
 */
const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_SPAN_MS = 30 * DAY_MS;
export const MAX_SPAN_MS = 60 * DAY_MS;
const CURSOR_CONTEXT = 'audit-query-cursor';

export type AuditQueryInput = z.infer<typeof AuditQueryBody>;
type Conditions = NonNullable<AuditQueryInput['and']>;

/** A query with its defaults applied, and (after the first page) the sequence its previous page ended at. */
interface ResolvedQuery {
  accountId: string;
  and: Conditions;
  from: number;
  to: number;
  limit: number;
  before?: number;
}

export interface AuditPage {
  items: AuditItem[];
  next: string | null;
}

export const auditItemNotFound = (cursor: string) => apiError('audit_item_not_found', `No audit item with cursor ${cursor} exists for this account.`);

export class AuditQueries {
  constructor(private readonly deps: { cipher: DataCipher; baseUrl: string; now: () => number }) {}

  /** The first page of a query, or the page a `next` cursor points at (the body is then ignored). */
  async query(db: Executor, accountId: string, input: AuditQueryInput, cursor?: string): Promise<AuditPage> {
    const query = cursor === undefined ? this.resolve(accountId, input) : this.openCursor(accountId, cursor);
    const rows = await select(db, query);
    const last = rows.at(-1);
    const next = rows.length === query.limit && last ? this.nextUrl({ ...query, before: Number(last.sequence) }) : null;
    return { items: rows.map((r) => parseAuditBody(r.body)), next };
  }

  private resolve(accountId: string, input: AuditQueryInput): ResolvedQuery {
    const to = input.to ? Date.parse(input.to) : this.deps.now();
    const from = input.from ? Date.parse(input.from) : to - DEFAULT_SPAN_MS;
    if (from > to) throw errors.invalidParameters([{ name: 'from', reason: 'from must not be after to' }]);
    if (to - from > MAX_SPAN_MS) throw errors.invalidParameters([{ name: 'from', reason: 'the span from–to is at most 60 days' }]);
    return { accountId, and: input.and ?? [], from, to, limit: input.limit ?? MAX_AUDIT_LIMIT };
  }

  private nextUrl(query: ResolvedQuery): string {
    return `${this.deps.baseUrl}/audit/query?cursor=${sealCursor(this.deps.cipher, CURSOR_CONTEXT, query)}`;
  }

  private openCursor(accountId: string, cursor: string): ResolvedQuery {
    return openCursor<ResolvedQuery>(this.deps.cipher, CURSOR_CONTEXT, accountId, cursor);
  }
}

function select(db: Executor, query: ResolvedQuery) {
  let select = db
    .selectFrom('audit_items')
    .select(['sequence', 'body'])
    .where('account_id', '=', query.accountId)
    .where('timestamp', '>=', query.from)
    .where('timestamp', '<=', query.to);
  for (const condition of query.and) {
    const column = AUDIT_FIELD_COLUMNS[condition.field];
    select = Array.isArray(condition.value) ? select.where(column, 'in', condition.value) : select.where(column, '=', condition.value);
  }
  if (query.before !== undefined) select = select.where('sequence', '<', query.before);
  // Sequence is the chain's order: newest first, and a stable key to continue from.
  return select.orderBy('sequence', 'desc').limit(query.limit).execute();
}

export async function findAuditItem(db: Executor, accountId: string, cursor: string): Promise<AuditItem> {
  const row = await db.selectFrom('audit_items').select('body').where('cursor', '=', cursor).where('account_id', '=', accountId).executeTakeFirst();
  if (!row) throw auditItemNotFound(cursor);
  return parseAuditBody(row.body);
}

/** The newest chained items about a user, at most `limit`; `truncated` when there were more (the user's export). */
export async function auditItemsAboutUser(db: Executor, accountId: string, userId: string, limit: number): Promise<{ items: AuditItem[]; truncated: boolean }> {
  const rows = await db
    .selectFrom('audit_items')
    .select('body')
    .where('account_id', '=', accountId)
    .where('user_id', '=', userId)
    .orderBy('sequence', 'desc')
    .limit(limit + 1)
    .execute();
  return { items: rows.slice(0, limit).map((row) => parseAuditBody(row.body)), truncated: rows.length > limit };
}
