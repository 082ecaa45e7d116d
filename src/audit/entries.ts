import type { AgentView } from '../console/agents.js';
import type { ApiClient, CreatedClient } from '../oauth/clients.js';
import type { RetentionPolicy } from '../retention/policy.js';
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

const CLIENT_CHANGES = {
  'client.secret_rotated': 'API client secret rotated',
  'client.disabled': 'API client disabled',
  'client.enabled': 'API client enabled',
  'client.deleted': 'API client deleted',
} as const;

/** A change an operator made to an API client; the new secret of a rotation is never part of it. */
export function clientChangedAudit(client: Pick<ApiClient, 'clientId' | 'accountId'>, eventType: keyof typeof CLIENT_CHANGES): AuditEntry {
  return {
    accountId: client.accountId,
    eventType,
    message: CLIENT_CHANGES[eventType],
    clientId: client.clientId,
    referenceId: client.clientId,
    data: { source: 'cli' },
  };
}

const AGENT_CHANGES = {
  'agent.created': 'Console agent created',
  'agent.disabled': 'Console agent disabled',
  'agent.enabled': 'Console agent enabled',
  'agent.password_reset': 'Console agent password reset',
  'agent.accounts_changed': 'Console agent accounts changed',
} as const;

/** Agents are the operator's staff, in no account: their items go to the system chain, by id (the email is personal data). */
export function agentChangedAudit(agent: Pick<AgentView, 'id'>, eventType: keyof typeof AGENT_CHANGES, data: Record<string, unknown> = {}): AuditEntry {
  return {
    accountId: null,
    eventType,
    message: AGENT_CHANGES[eventType],
    referenceId: agent.id,
    data: { agentId: agent.id, ...data, source: 'cli' },
  };
}

/** An operator changed an account's retention periods: the periods now in force and before, with where each comes from. */
export function retentionChangedAudit(policy: RetentionPolicy, previous: RetentionPolicy): AuditEntry {
  const periods = ({ evidenceDays, transactionsDays, deliveriesDays, sources }: RetentionPolicy) => ({
    evidenceDays,
    transactionsDays,
    deliveriesDays,
    sources,
  });
  return {
    accountId: policy.accountId,
    eventType: 'retention.policy_changed',
    message: 'Account retention periods changed',
    referenceId: policy.accountId,
    data: { retention: periods(policy), previous: periods(previous), source: 'cli' },
  };
}
