import { connect } from 'node:net';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

/** The edges of the HTTP API: wrong methods, malformed URLs and bodies all get the error object with X-TRACE-ID. */
for (const database of testDatabases) {
  describe(`HTTP edges (${database.name})`, () => {
    const t = useHarness(database);

    const send = (options: InjectOptions & { method: string; url: string }) =>
      t.h.app.inject({ ...options, headers: { authorization: `Bearer ${t.rp.token}`, ...options.headers } });
    const post = (url: string, contentType: string | undefined, payload: string) =>
      send({ method: 'POST', url, headers: contentType === undefined ? {} : { 'content-type': contentType }, payload });

    /** The Signicat error object with this code, its traceId equal to the X-TRACE-ID header. */
    const expectErrorObject = (response: LightMyRequestResponse, status: number, code: string) => {
      expect(response.statusCode, response.body).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['x-trace-id']).toMatch(/^[0-9a-f]{32}$/);
      expect(response.json()).toMatchObject({ type: `urn:reuseid:error:${code}`, code, status, traceId: response.headers['x-trace-id'] });
      return response.json() as { detail: string; invalidParams?: { name: string; reason: string }[] };
    };

    it('gives every request its own trace id, past the pool of random bytes they are drawn from', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 600; i++) {
        const id = (await send({ method: 'GET', url: '/healthz' })).headers['x-trace-id'] as string;
        expect(id).toMatch(/^[0-9a-f]{32}$/);
        ids.add(id);
      }
      expect(ids.size).toBe(600);
    });

    describe('methods', () => {
      it('answers a wrong method on an existing path with 405 and Allow, an unknown path with 404', async () => {
        expectErrorObject(await send({ method: 'PUT', url: '/reuseid/onboarding' }), 405, 'method_not_allowed');
        expect((await send({ method: 'PUT', url: '/reuseid/onboarding' })).headers.allow).toBe('POST');
        const deleted = await send({ method: 'DELETE', url: '/reuseid/onboarding/94099e7e-b391-45fb-9404-b54682f16d03?x=1' });
        expectErrorObject(deleted, 405, 'method_not_allowed');
        expect(deleted.headers.allow).toBe('GET, HEAD');
        expect((await send({ method: 'POST', url: '/events/subscriptions/abc' })).headers.allow).toBe('DELETE, GET, HEAD, PATCH');
        expectErrorObject(await send({ method: 'GET', url: '/reuseid/nothing-here' }), 404, 'not_found');
        expectErrorObject(await send({ method: 'GET', url: '/reuseid/onboarding/a/b' }), 404, 'not_found');
      });

      it('keeps HEAD working on GET routes', async () => {
        const head = await send({ method: 'HEAD', url: '/healthz' });
        expect(head.statusCode).toBe(200);
        expect(head.headers['x-trace-id']).toBeTruthy();
        expect((await send({ method: 'HEAD', url: '/reuseid/openapi.json' })).statusCode).toBe(200);
      });

      it('answers a wrong method on a console page with a 405 page and Allow', async () => {
        const response = await t.h.app.inject({ method: 'PUT', url: '/console/sign-in' });
        expect(response.statusCode).toBe(405);
        expect(response.headers.allow).toBe('GET, HEAD, POST');
        expect(response.headers['content-type']).toMatch(/^text\/html/);
        expect((await t.h.app.inject({ method: 'GET', url: '/console/no-such-page' })).statusCode).toBe(404);
      });
    });

    describe('malformed URLs', () => {
      it('answers a URL that is not validly percent-encoded with the error object', async () => {
        const detail = expectErrorObject(await send({ method: 'GET', url: '/reuseid/onboarding/%E0%A4%A' }), 400, 'invalid_request').detail;
        expect(detail).toMatch(/percent-encoded/);
        expectErrorObject(await send({ method: 'GET', url: '/device/v1/transactions/%ZZ' }), 400, 'invalid_request');
      });

      it('refuses a NUL character in a URL or a JSON body with 400 invalid_request, on every database (found by the fuzz test on PostgreSQL)', async () => {
        const auth = { authorization: `Bearer ${t.rp.token}` };
        expect(expectErrorObject(await send({ method: 'GET', url: '/reuseid/onboarding/%00', headers: auth }), 400, 'invalid_request').detail).toMatch(/NUL/);
        expectErrorObject(await send({ method: 'GET', url: '/reuseid/users?externalRef=a%00b', headers: auth }), 400, 'invalid_request');
        const body = await send({
          method: 'POST',
          url: '/reuseid/onboarding',
          headers: { ...auth, 'content-type': 'application/json' },
          payload: '{"externalRef":"a\\u0000b"}',
        });
        expect(expectErrorObject(body, 400, 'invalid_request').detail).toMatch(/NUL/);
      });

      it('validates overlong path parameters by their schema (422 naming the field); beyond the router limit 414', async () => {
        const overlong = expectErrorObject(await send({ method: 'GET', url: `/reuseid/onboarding/${'a'.repeat(150)}` }), 422, 'invalid_request_parameter');
        expect(overlong.invalidParams?.map((p) => p.name)).toEqual(['transactionId']);
        expectErrorObject(await send({ method: 'GET', url: `/reuseid/onboarding/${'a'.repeat(600)}` }), 414, 'uri_too_long');
      });

      it('validates malformed query strings by their schema', async () => {
        const rp = await t.h.rp({ permissions: ['events'] });
        for (const query of ['limit=%ZZ', 'limit=%E0%A4%A', 'limit=1&limit=2', 'limit']) {
          const response = await t.h.app.inject({
            method: 'GET',
            url: `/events/subscriptions/abc/deliveries?${query}`,
            headers: { authorization: `Bearer ${rp.token}` },
          });
          expect(
            expectErrorObject(response, 422, 'invalid_request_parameter').invalidParams?.map((p) => p.name),
            query,
          ).toEqual(['limit']);
        }
      });

      /** Sends raw bytes to the listening app and returns the status line, headers and parsed body it wrote back. */
      const rawExchange = async (request: string) => {
        if (!t.h.app.server.listening) await t.h.app.listen({ port: 0, host: '127.0.0.1' });
        const { port } = t.h.app.server.address() as { port: number };
        const raw = await new Promise<string>((resolve, reject) => {
          let received = '';
          const socket = connect(port, '127.0.0.1', () => socket.write(request));
          socket.on('data', (chunk) => (received += chunk.toString()));
          socket.on('close', () => resolve(received));
          socket.on('error', reject);
        });
        const [head = '', body = ''] = raw.split('\r\n\r\n');
        return { head, traceId: /\r\nX-TRACE-ID: ([0-9a-f]{32})\r\n/.exec(head)?.[1], body: JSON.parse(body) as Record<string, unknown> };
      };

      it('answers requests Node cannot parse with the error object and X-TRACE-ID', async () => {
        const badLine = await rawExchange('GET /reuseid/onboarding/a b HTTP/1.1\r\nHost: x\r\n\r\n');
        expect(badLine.head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
        expect(badLine.head).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
        expect(badLine.traceId).toBeTruthy();
        expect(badLine.body).toMatchObject({ code: 'invalid_request', status: 400, traceId: badLine.traceId });

        const hugeHeaders = await rawExchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
        expect(hugeHeaders.head).toMatch(/^HTTP\/1\.1 431 /);
        expect(hugeHeaders.body).toMatchObject({ code: 'request_headers_too_large', status: 431, traceId: hugeHeaders.traceId });
      });
    });

    describe('request bodies', () => {
      const START = '/reuseid/onboarding';

      it('accepts application/json with or without a UTF-8 charset', async () => {
        expect((await post(START, 'application/json', '{}')).statusCode).toBe(200);
        expect((await post(START, 'application/json; charset=utf-8', '{}')).statusCode).toBe(200);
        expect((await post(START, 'Application/JSON; Charset="UTF-8"', '{}')).statusCode).toBe(200);
      });

      it('refuses every other content type with a body: 415, JSON in text/plain included', async () => {
        for (const type of [
          'text/plain',
          'text/plain; charset=utf-8',
          'application/x-www-form-urlencoded',
          'application/merge-patch+json',
          'application/xml',
          'application/json; charset=iso-8859-1',
        ]) {
          expectErrorObject(await post(START, type, '{"externalRef":"x"}'), 415, 'unsupported_media_type');
        }
        expectErrorObject(await post(START, undefined, '{"externalRef":"x"}'), 415, 'unsupported_media_type');
      });

      it('treats an empty body alike whatever the Content-Type: 422 naming body where an object is required', async () => {
        for (const type of [undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
          const response = await post(START, type, '');
          expect(
            expectErrorObject(response, 422, 'invalid_request_parameter').invalidParams?.map((p) => p.name),
            String(type),
          ).toEqual(['body']);
          expectErrorObject(await post('/device/v1/activations', type, ''), 422, 'invalid_request_parameter');
        }
      });

      it('answers malformed JSON and prototype poisoning with 400', async () => {
        expectErrorObject(await post(START, 'application/json', '{"externalRef":'), 400, 'invalid_request');
        expectErrorObject(await post(START, 'application/json', '{"__proto__":{"admin":true}}'), 400, 'invalid_request');
        expectErrorObject(await post('/device/v1/activations', 'application/json', '{"activationCode":'), 400, 'invalid_request');
      });

      it('applies the same rule to the device API, which also keeps the raw body for signatures', async () => {
        expectErrorObject(await post('/device/v1/activations', 'text/plain', '{"activationCode":"12345678","proof":"x"}'), 415, 'unsupported_media_type');
        const start = await t.rp.post(START, {});
        const device = await t.h.device();
        const activation = await device.activate(start.body.data.activationCode);
        expect(activation.transactionId).toBe(start.body.data.transactionId);
        // A signed request with a JSON body: the signature's body hash is checked against the raw bytes (401 otherwise).
        await expect(device.decide({ operationId: 'no-such-operation', challenge: 'x' })).rejects.toMatchObject({ status: 404 });
      });

      it('leaves the token endpoint its RFC 6749 errors for bodies that are not forms', async () => {
        for (const [type, payload] of [
          ['text/plain', 'grant_type=client_credentials'],
          ['application/json', '{"grant_type":'],
          ['application/xml', '<a/>'],
        ] as const) {
          const response = await t.h.app.inject({ method: 'POST', url: '/auth/open/connect/token', headers: { 'content-type': type }, payload });
          expect(response.statusCode, type).toBe(400);
          expect(response.json()).toEqual({ error: 'invalid_request', error_description: 'The token request must be application/x-www-form-urlencoded' });
        }
      });
    });

    describe('hostile values', () => {
      const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

      it('answers a bearer token whose kid is not a string with 401 invalid_token', async () => {
        for (const kid of [{ id: 'x' }, true, 7, ['a'], 'k'.repeat(1000)]) {
          const token = `${base64url({ alg: 'ES256', typ: 'at+jwt', kid })}.${base64url({ sub: 'x' })}.${Buffer.from('sig').toString('base64url')}`;
          const response = await t.h.app.inject({
            method: 'GET',
            url: '/reuseid/onboarding/94099e7e-b391-45fb-9404-b54682f16d03',
            headers: { authorization: `Bearer ${token}` },
          });
          expectErrorObject(response, 401, 'invalid_token');
        }
      });

      it('answers an externalRef nested beyond the depth limit with 422 naming externalRef', async () => {
        for (const [open, close] of [
          ['{"a":', '}'],
          ['[', ']'],
        ] as const) {
          const deep = `{"externalRef":${open.repeat(5000)}1${close.repeat(5000)}}`;
          const response = await post('/reuseid/onboarding', 'application/json', deep);
          expect(expectErrorObject(response, 422, 'invalid_request_parameter').invalidParams?.map((p) => p.name)).toEqual(['externalRef']);
        }
        const shallow = `{"externalRef":${'['.repeat(32)}1${']'.repeat(32)}}`;
        expect((await post('/reuseid/onboarding', 'application/json', shallow)).statusCode).toBe(200);
      });
    });
  });
}
