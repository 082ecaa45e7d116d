import type { Migration } from 'kysely';
import * as m001 from './001_core.js';
import * as m002 from './002_events.js';
import * as m003 from './003_videoid.js';
import * as m004 from './004_idempotency.js';
import * as m005 from './005_readid.js';
import * as m006 from './006_binding.js';
import * as m007 from './007_reference_photo.js';
import * as m008 from './008_sealed_webhook_urls.js';
import * as m009 from './009_readid_refused_uploads.js';
import * as m010 from './010_user_lifecycle.js';
import * as m011 from './011_agent_accounts.js';
import * as m012 from './012_outbox_subject.js';
import * as m013 from './013_retention.js';
import * as m014 from './014_audit_sequencer.js';
import * as m015 from './015_sliding_rate_counters.js';
import * as m016 from './016_evidence_chunks.js';
import * as m017 from './017_credentials.js';

/**
 * Every migration, in order. A static map (not a folder scan) so that it works the same from sources, from the
 * compiled output and under bundling. Add a line per new migration; never edit one that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '001_core': m001,
  '002_events': m002,
  '003_videoid': m003,
  '004_idempotency': m004,
  '005_readid': m005,
  '006_binding': m006,
  '007_reference_photo': m007,
  '008_sealed_webhook_urls': m008,
  '009_readid_refused_uploads': m009,
  '010_user_lifecycle': m010,
  '011_agent_accounts': m011,
  '012_outbox_subject': m012,
  '013_retention': m013,
  '014_audit_sequencer': m014,
  '015_sliding_rate_counters': m015,
  '016_evidence_chunks': m016,
  '017_credentials': m017,
};
