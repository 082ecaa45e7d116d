import type { CreatedClient } from '../oauth/clients.js';
import type { AuditEntry } from './log.js';

/** The audit item of a new API client: who it is and what it may do; never its secret. */
export function clientCreatedAudit(client: CreatedClient): AuditEntry {
  return {
    accountId: client.accountId,
    eventType: 'client.created',
    message: 'API client created',
    clientId: client.clientId,
    referenceId: client.clientId,
    data: { permissions: client.permissions, tokenTtlSeconds: client.tokenTtlSeconds, source: 'cli' },
  };
}
