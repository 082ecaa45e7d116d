/** Columns added to audit_items by migrations/002_events.ts: indexed copies of body fields, so queries filter in SQL. */
declare module '../store/schema.js' {
  interface AuditItemsTable {
    client_id: string | null;
    user_id: string | null;
    reference_id: string | null;
    trace_id: string | null;
  }
}

/** Query field name → column; the hash covers the body, verification checks each column against it. */
export const AUDIT_FIELD_COLUMNS = {
  eventType: 'event_type',
  clientId: 'client_id',
  userId: 'user_id',
  referenceId: 'reference_id',
  traceId: 'trace_id',
} as const;

export type AuditQueryField = keyof typeof AUDIT_FIELD_COLUMNS;
