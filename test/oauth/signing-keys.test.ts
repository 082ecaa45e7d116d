import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { createHarness, PUBLIC_URL, type Harness } from '../support/harness.js';
import { signJwt, SigningKeys } from '../../src/oauth/signing-keys.js';

// Collected from the start of this file's process: Node emits each deprecation once per process.
const warnings: Error[] = [];
process.on('warning', (warning) => warnings.push(warning));

for (const database of testDatabases) {
  describe(`signing keys (${database.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(database);
    });
    afterAll(() => h.close());

    const jwks = async () => createLocalJWKSet((await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json());

    it('signs with the key it created, and another instance signs with the same key read back from the database', async () => {
      const rp = await h.rp();
      const issued = await jwtVerify(rp.token, await jwks(), { issuer: PUBLIC_URL, audience: PUBLIC_URL, typ: 'at+jwt' });

      // A second instance: nothing cached, the sealed private key is opened from its row.
      const other = new SigningKeys({ clock: h.clock, cipher: h.ctx.cipher, purpose: 'access-token', rotationMs: 86_400_000, maxSignedLifetimeMs: 3_600_000 });
      const key = await other.signingKey(h.ctx.store.db);
      expect(key.kid).toBe(issued.protectedHeader.kid);
      const token = signJwt({ alg: 'ES256', typ: 'at+jwt', kid: key.kid }, { iss: PUBLIC_URL, aud: PUBLIC_URL, sub: 'x' }, key.privateKey);
      const verified = await jwtVerify(token, await jwks(), { issuer: PUBLIC_URL, audience: PUBLIC_URL });
      expect(verified.payload.sub).toBe('x');
    });
  });
}

describe('signing', () => {
  // Node 24 deprecates turning a non-extractable WebCrypto key into a KeyObject (DEP0204); the keys are Node's own.
  it('uses no deprecated Node API (the CI runs this on Node 24 too)', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((warning) => warning.name === 'DeprecationWarning').map(String)).toEqual([]);
  });
});
