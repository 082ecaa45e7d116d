import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { createHarness } from '../support/harness.js';

/** Per-source limits and audit addresses use request.ip: only the configured proxy hops may set it. */
for (const database of testDatabases) {
  describe(`source address behind proxies (${database.name})`, () => {
    /** The ipAddress audited for one token request from `remoteAddress` carrying X-Forwarded-For. */
    const auditedAddress = async (trustProxy: string | undefined, remoteAddress: string) => {
      const h = await createHarness(database, trustProxy === undefined ? {} : { REUSEID_TRUST_PROXY: trustProxy });
      try {
        const client = await h.ctx.clients.create(h.ctx.store.db, { name: 'proxied rp', permissions: ['reuseid-onboarding'] });
        const response = await h.app.inject({
          method: 'POST',
          url: '/auth/open/connect/token',
          remoteAddress,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
            'x-forwarded-for': '198.51.100.7, 203.0.113.9',
          },
          payload: 'grant_type=client_credentials',
        });
        expect(response.statusCode, response.body).toBe(200);
        await h.ctx.auditSequencer.sequenceNow();
        const rows = await h.ctx.store.db.selectFrom('audit_items').select('body').where('account_id', '=', client.accountId).execute();
        const issued = rows.map((row) => JSON.parse(row.body) as { eventType: string; ipAddress: string }).find((item) => item.eventType === 'token.issued');
        return issued?.ipAddress;
      } finally {
        await h.close();
      }
    };

    it('with one trusted hop, takes the address the proxy appended, not the one the client wrote', async () => {
      expect(await auditedAddress('1', '10.0.0.5')).toBe('203.0.113.9');
    });

    it('with trusted proxy addresses, takes the first address from the right that is not a trusted proxy', async () => {
      expect(await auditedAddress('10.0.0.0/8', '10.0.0.5')).toBe('203.0.113.9');
    });

    it('trusts no X-Forwarded-For by default, nor from an address that is not a trusted proxy', async () => {
      expect(await auditedAddress(undefined, '10.0.0.5')).toBe('10.0.0.5');
      expect(await auditedAddress('10.0.0.0/8', '192.0.2.44')).toBe('192.0.2.44');
    });
  });
}
