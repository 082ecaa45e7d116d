import { createLocalJWKSet, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { createHarness, PUBLIC_URL, type Harness } from '../support/harness.js';
import { CLIENT_RECHECK_MS } from '../../src/oauth/client-authenticator.js';

const TOKEN = '/auth/open/connect/token';

for (const database of testDatabases) {
  describe(`OAuth 2.0 client credentials (${database.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(database);
    });
    afterAll(() => h.close());

    const form = (body: string, headers: Record<string, string> = {}) =>
      h.app.inject({ method: 'POST', url: TOKEN, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: body });
    const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
    const client = (permissions: Parameters<Harness['ctx']['clients']['create']>[1]['permissions'] = ['reuseid-onboarding'], accountId?: string) =>
      h.ctx.clients.create(h.ctx.store.db, { name: 'c', permissions, accountId });

    it('issues an RFC 9068 JWT by client_secret_basic and by client_secret_post', async () => {
      const c = await client(['reuseid-onboarding', 'audit']);
      const viaBasic = await form('grant_type=client_credentials&scope=signicat-api', basic(c.clientId, c.clientSecret));
      expect(viaBasic.statusCode).toBe(200);
      expect(viaBasic.headers['cache-control']).toBe('no-store');
      const body = viaBasic.json();
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'reuseid-onboarding audit' });
      const [header, payload] = body.access_token
        .split('.')
        .slice(0, 2)
        .map((p: string) => JSON.parse(Buffer.from(p, 'base64url').toString()));
      expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      expect(payload).toMatchObject({ iss: PUBLIC_URL, aud: PUBLIC_URL, sub: c.clientId, client_id: c.clientId, account_id: c.accountId });
      expect(payload.exp - payload.iat).toBe(600);
      expect(payload.jti).toBeTruthy();
      const jwks = await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      expect(jwks.json().keys.map((k: { kid: string }) => k.kid)).toContain(header.kid);
      expect(JSON.stringify(jwks.json())).not.toContain('"d"');
      // Signed by Node's crypto, checked by jose against the published keys, as an RP would.
      const verified = await jwtVerify(body.access_token, createLocalJWKSet(jwks.json()), { issuer: PUBLIC_URL, audience: PUBLIC_URL, typ: 'at+jwt' });
      expect(verified.protectedHeader).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: header.kid });
      const tampered = `${body.access_token.slice(0, -4)}${body.access_token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      await expect(jwtVerify(tampered, createLocalJWKSet(jwks.json()))).rejects.toThrow();
      const viaPost = await form(`grant_type=client_credentials&client_id=${c.clientId}&client_secret=${c.clientSecret}&scope=audit`);
      expect(viaPost.json().scope).toBe('audit');
    });

    it('publishes RFC 8414 metadata', async () => {
      const meta = (await h.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json();
      expect(meta).toMatchObject({
        issuer: PUBLIC_URL,
        token_endpoint: `${PUBLIC_URL}${TOKEN}`,
        jwks_uri: `${PUBLIC_URL}/.well-known/jwks.json`,
        grant_types_supported: ['client_credentials', 'urn:ietf:params:oauth:grant-type:pre-authorized_code'],
        'pre-authorized_grant_anonymous_access_supported': true,
      });
    });

    it('refuses bad credentials, grants and scopes per RFC 6749 §5.2', async () => {
      const c = await client();
      const wrongSecret = await form('grant_type=client_credentials', basic(c.clientId, 'rsec_wrong'));
      expect(wrongSecret.statusCode).toBe(401);
      expect(wrongSecret.json()).toMatchObject({ error: 'invalid_client' });
      expect(wrongSecret.headers['www-authenticate']).toMatch(/^Basic/);
      expect((await form('grant_type=client_credentials', basic('rid-unknown', c.clientSecret))).json().error).toBe('invalid_client');
      expect((await form('grant_type=client_credentials')).statusCode).toBe(401);
      expect((await form('grant_type=password', basic(c.clientId, c.clientSecret))).json().error).toBe('unsupported_grant_type');
      expect((await form('scope=x', basic(c.clientId, c.clientSecret))).json().error).toBe('invalid_request');
      expect((await form('grant_type=client_credentials&scope=audit', basic(c.clientId, c.clientSecret))).json().error).toBe('invalid_scope');
      const json = await h.app.inject({
        method: 'POST',
        url: TOKEN,
        headers: { ...basic(c.clientId, c.clientSecret), 'content-type': 'application/json' },
        payload: '{"grant_type":"client_credentials"}',
      });
      expect(json.statusCode).toBe(400);
    });

    it('remembers a client that authenticated for 5 s at most; a wrong, rotated or re-enabled secret is answered from the database', async () => {
      const c = await client();
      const tokenWith = async (secret: string) => (await form('grant_type=client_credentials', basic(c.clientId, secret))).statusCode;
      expect(await tokenWith(c.clientSecret)).toBe(200);
      // Disabled by the CLI, another process: this instance is not told, and keeps the client for the rest of its 5 s.
      await h.ctx.clients.setDisabled(h.ctx.store.db, c.clientId, true);
      expect(await tokenWith(c.clientSecret)).toBe(200);
      expect(await tokenWith('rsec_wrong')).toBe(401);
      h.clock.advance(CLIENT_RECHECK_MS);
      expect(await tokenWith(c.clientSecret)).toBe(401);
      // A refusal is not remembered: enabled again, the client gets tokens at once.
      await h.ctx.clients.setDisabled(h.ctx.store.db, c.clientId, false);
      expect(await tokenWith(c.clientSecret)).toBe(200);
      // A new secret is checked against the database at once, and then the old one is refused at once.
      const rotated = await h.ctx.clients.rotateSecret(h.ctx.store.db, c.clientId);
      expect(await tokenWith(rotated!.clientSecret)).toBe(200);
      expect(await tokenWith(c.clientSecret)).toBe(401);
    });

    it('audits issued and refused tokens without secrets', async () => {
      const c = await client();
      await form('grant_type=client_credentials', basic(c.clientId, c.clientSecret));
      await form('grant_type=client_credentials', basic(c.clientId, 'rsec_guess'));
      await h.ctx.auditSequencer.sequenceNow();
      const rows = await h.ctx.store.db.selectFrom('audit_items').select(['event_type', 'body']).where('account_id', '=', c.accountId).execute();
      const types = rows.map((r) => r.event_type);
      expect(types).toContain('token.issued');
      expect(types).toContain('token.refused');
      expect(rows.map((r) => r.body).join()).not.toContain(c.clientSecret);
      expect(rows.map((r) => r.body).join()).not.toContain('rsec_guess');
    });

    describe('resource requests', () => {
      const call = (token: string) =>
        h.app.inject({ method: 'GET', url: '/reuseid/onboarding/94099e7e-b391-45fb-9404-b54682f16d03', headers: { authorization: `Bearer ${token}` } });

      it('refuses a missing, malformed, forged, expired or foreign-issuer token with invalid_token', async () => {
        const rp = await h.rp();
        expect((await call(rp.token)).statusCode).toBe(404); // valid token: the transaction simply does not exist
        const none = await h.app.inject({ method: 'GET', url: '/reuseid/onboarding/x' });
        expect(none.statusCode).toBe(401);
        expect(none.json()).toMatchObject({ code: 'invalid_token', status: 401, traceId: none.headers['x-trace-id'] });
        expect((await call('not.a.jwt')).json().code).toBe('invalid_token');

        const [header, payload, signature] = rp.token.split('.') as [string, string, string];
        const tampered = JSON.parse(Buffer.from(payload, 'base64url').toString());
        tampered.account_id = 'another-account';
        expect((await call(`${header}.${Buffer.from(JSON.stringify(tampered)).toString('base64url')}.${signature}`)).statusCode).toBe(401);

        const { privateKey } = await generateKeyPair('ES256');
        const kid = JSON.parse(Buffer.from(header, 'base64url').toString()).kid;
        const forged = await new SignJWT({ client_id: rp.clientId, scope: 'reuseid-onboarding', account_id: rp.accountId })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
          .setIssuer(PUBLIC_URL)
          .setAudience(PUBLIC_URL)
          .setSubject(rp.clientId)
          .setJti('x')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
        expect((await call(forged)).statusCode).toBe(401);

        h.clock.advance(601_000);
        const expired = await call(rp.token);
        expect(expired.statusCode).toBe(401);
        expect(expired.json().detail).toContain('expired');
        h.clock.advance(-601_000);
      });

      it('refuses a token signed by this server for another issuer or audience', async () => {
        const rp = await h.rp();
        const key = await h.ctx.keys.signingKey(h.ctx.store.db);
        const sign = (iss: string, aud: string) =>
          new SignJWT({ client_id: rp.clientId, scope: 'reuseid-onboarding', account_id: rp.accountId })
            .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
            .setIssuer(iss)
            .setAudience(aud)
            .setSubject(rp.clientId)
            .setJti('j')
            .setIssuedAt(Math.floor(h.clock.now() / 1000))
            .setExpirationTime(Math.floor(h.clock.now() / 1000) + 60)
            .sign(key.privateKey);
        expect((await call(await sign(PUBLIC_URL, PUBLIC_URL))).statusCode).toBe(404);
        const foreignIssuer = await call(await sign('https://other.example', PUBLIC_URL));
        expect(foreignIssuer.statusCode).toBe(401);
        expect(foreignIssuer.json().detail).toContain('iss');
        expect((await call(await sign(PUBLIC_URL, 'https://other.example'))).statusCode).toBe(401);
      });

      it('answers the same for a token verified afresh and for the same token remembered', async () => {
        const rp = await h.rp();
        const auditOnly = await h.rp({ permissions: ['audit'] });
        for (let use = 0; use < 2; use++) {
          expect((await call(rp.token)).statusCode).toBe(404);
          const refused = await call(auditOnly.token);
          expect(refused.statusCode).toBe(403);
          expect(refused.json()).toMatchObject({ code: 'insufficient_permissions', status: 403, traceId: refused.headers['x-trace-id'] });
        }
      });

      it('refuses a token without the permission the endpoint needs with 403', async () => {
        const rp = await h.rp({ permissions: ['audit'] });
        const res = await rp.post('/reuseid/onboarding', {});
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ code: 'insufficient_permissions', status: 403 });
      });
    });

    it('creates the account named by a new client, and puts clients without one in the default account', async () => {
      const named = await client(['reuseid-onboarding'], 'bank-a');
      expect(named.accountId).toBe('bank-a');
      const account = await h.ctx.store.db.selectFrom('accounts').selectAll().where('id', '=', 'bank-a').executeTakeFirst();
      expect(account).toBeTruthy();
      expect((await client()).accountId).toBe('default');
      const row = await h.ctx.store.db.selectFrom('api_clients').select('secret_hash').where('id', '=', named.clientId).executeTakeFirstOrThrow();
      expect(row.secret_hash).not.toContain(named.clientSecret);
      expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    });
  });
}
