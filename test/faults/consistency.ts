import pg from 'pg';

/**
 * Reads an account's onboardings straight from the database and lists every one that is half-written: a transaction
 * either ended with everything that goes with its ending (decided proofing, attributes, audit item, outbox event),
 * or is still Pending with none of it.
 */
export interface AccountRows {
  byStatus: Record<string, number>;
  completed: Set<string>;
  all: Map<string, string>;
  /** outbox events of `onboarding.completed` for the account. */
  completedEvents: Set<string>;
  anomalies: string[];
}

interface TransactionFacts {
  id: string;
  status: string;
  ended: boolean;
  has_user_data: boolean;
  has_device: boolean;
  proofing_status: string | null;
  attributes: number;
  proofing_audit_items: number;
  start_audit_items: number;
  end_audit_items: number;
}

/** An audit item exists from its transaction's commit: chained in audit_items, or still waiting in audit_pending. */
const FACTS = `
  with audit as (
    select reference_id, event_type from audit_items where account_id = $1
    union all
    select body::jsonb->>'referenceId', body::jsonb->>'eventType' from audit_pending where account_id = $1
  )
  select t.id, t.status, t.ended_at is not null as ended, t.user_data_sealed is not null as has_user_data,
         t.device_id is not null as has_device, p.status as proofing_status,
         (select count(*) from user_attributes a where a.transaction_id = t.id)::int as attributes,
         (select count(*) from audit i where i.reference_id = t.id and i.event_type = 'proofing.decided')::int as proofing_audit_items,
         (select count(*) from audit i where i.reference_id = t.id and i.event_type = 'onboarding.started')::int as start_audit_items,
         (select count(*) from audit i where i.reference_id = t.id and i.event_type in ('onboarding.completed', 'onboarding.failed', 'onboarding.expired'))::int as end_audit_items
  from transactions t left join proofings p on p.id = t.proofing_id
  where t.account_id = $1 and t.kind = 'onboarding'`;

export async function readAccount(databaseUrl: string, accountId: string): Promise<AccountRows> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const facts = (await client.query<TransactionFacts>(FACTS, [accountId])).rows;
    const events = (
      await client.query<{ id: string }>(`select id from outbox_events where account_id = $1 and event_name = 'onboarding.completed'`, [accountId])
    ).rows;
    const rows: AccountRows = { byStatus: {}, completed: new Set(), all: new Map(), completedEvents: new Set(events.map((e) => e.id)), anomalies: [] };
    for (const tx of facts) {
      rows.byStatus[tx.status] = (rows.byStatus[tx.status] ?? 0) + 1;
      rows.all.set(tx.id, tx.status);
      if (tx.status === 'Completed') rows.completed.add(tx.id);
      const problem = anomaly(tx);
      if (problem) rows.anomalies.push(`${tx.id} (${tx.status}): ${problem}`);
    }
    if (rows.completedEvents.size !== rows.completed.size)
      rows.anomalies.push(`${rows.completed.size} Completed but ${rows.completedEvents.size} onboarding.completed events in the outbox`);
    return rows;
  } finally {
    await client.end();
  }
}

function anomaly(tx: TransactionFacts): string | null {
  if (tx.start_audit_items !== 1) return `${tx.start_audit_items} onboarding.started audit items`;
  switch (tx.status) {
    case 'Completed':
      if (!tx.ended || !tx.has_user_data || !tx.has_device) return 'ended without its userData or device';
      if (tx.proofing_status !== 'accepted' || tx.proofing_audit_items !== 1)
        return `proofing ${tx.proofing_status} with ${tx.proofing_audit_items} audit items`;
      if (tx.attributes === 0) return 'no verified attributes written';
      return tx.end_audit_items === 1 ? null : `${tx.end_audit_items} audit items of its ending`;
    case 'Pending':
      if (tx.ended || tx.has_user_data || tx.end_audit_items) return 'pending but partly ended';
      return tx.attributes || (tx.proofing_status ?? 'started') !== 'started' ? 'pending with a decided proofing' : null;
    case 'Expired':
      return tx.ended && !tx.has_user_data && !tx.attributes && tx.end_audit_items === 1 ? null : 'expired inconsistently';
    default:
      return 'unexpected status (the load only submits accepted proofs)';
  }
}
