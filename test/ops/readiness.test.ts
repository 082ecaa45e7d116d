import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { createHarness } from '../support/harness.js';

/** Readiness says whether sandbox mode is on, so that monitoring can alarm on a sandbox where it must not be. */
for (const database of testDatabases) {
  describe(`readiness (${database.name})`, () => {
    for (const sandbox of [true, false]) {
      it(`reports sandbox ${sandbox} with REUSEID_SANDBOX=${sandbox}`, async () => {
        const h = await createHarness(database, { REUSEID_SANDBOX: String(sandbox) });
        try {
          const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
          expect(ready.statusCode).toBe(200);
          expect(ready.json()).toEqual({ status: 'ready', database: h.ctx.store.dialect, sandbox });
        } finally {
          await h.close();
        }
      });
    }
  });
}
