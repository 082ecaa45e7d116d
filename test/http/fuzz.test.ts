import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { createHarness, type Harness, type Rp } from '../support/harness.js';

/**
 * HTTP fuzzing in process: random methods, paths (every OpenAPI path with hostile segments, plus console and
 * unknown paths), headers (credential forms, huge values, content types) and bodies (JSON of any shape, deep
 * nesting, binary). No answer may be a 5xx, and every 4xx carries the contract's error object (contract §4) — except
 * the token endpoint (OAuth's own error form) and the console's HTML pages. Seeded: a failure prints the seed and
 * the shrunk request; FUZZ_SEED replays it.
 */
const RUNS = 3000;
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

const segment = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom('%E0%A4%A', '%', '%00', '%2F', '..', '%C0%AF', '%FF%FE', '%ZZ', ''),
  fc.integer({ min: 90, max: 4000 }).map((n) => 'a'.repeat(n)),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => encodeURIComponent(s)),
);
const deepJson = fc
  .integer({ min: 100, max: 20_000 })
  .chain((depth) => fc.constantFrom(`${'['.repeat(depth)}${']'.repeat(depth)}`, `${'{"externalRef":'.repeat(depth)}1${'}'.repeat(depth)}`, '['.repeat(depth)));
const body = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 4 }),
  fc
    .anything({ maxDepth: 3 })
    .map((value) => JSON.stringify({ externalRef: value, provider: value, url: value, name: value, activationCode: value, proof: value })),
  deepJson,
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom('{', 'null', '"x"', '{"__proto__":{"a":1}}', '{"constructor":{"prototype":{}}}', '\u0000'),
);
const contentType = fc.option(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/merge-patch+json',
    ';;;',
    'a'.repeat(9000),
  ),
  { nil: undefined },
);

function authorization(token: string) {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return fc.option(
    fc.oneof(
      fc.constant(`Bearer ${token}`),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'bearer x',
        'Basic Og==',
        'ReuseID-Device',
        'ReuseID-Device x',
        'ReuseID-Device a.b.c',
        `Bearer ${'x'.repeat(12_000)}`,
      ),
      fc.anything({ maxDepth: 2 }).map((kid) => `Bearer ${b64({ alg: 'ES256', kid })}.${b64({ sub: kid })}.AAAA`),
      fc.anything({ maxDepth: 2 }).map((kid) => `ReuseID-Device ${b64({ alg: 'ES256', typ: 'reuseid-device+jwt', kid })}.${b64({ htm: kid })}.AAAA`),
      fc.string({ maxLength: 200 }),
    ),
    { nil: undefined },
  );
}

for (const database of testDatabases) {
  describe(`HTTP fuzzing (${database.name})`, () => {
    let h: Harness;
    let rp: Rp;
    let paths: string[];
    beforeAll(async () => {
      h = await createHarness(database);
      rp = await h.rp();
      const openapi = (await h.app.inject({ method: 'GET', url: '/reuseid/openapi.json' })).json() as { paths: Record<string, unknown> };
      paths = [...Object.keys(openapi.paths), '/console', '/console/login', '/console/cases/{id}', '/reuseid/{x}/{y}', '/{x}', '/.well-known/{x}'];
    });
    afterAll(() => h.close());

    const isExempt = (path: string, response: LightMyRequestResponse) =>
      path === '/auth/open/connect/token' || (path.startsWith('/console') && /^text\/html/.test(String(response.headers['content-type'])));

    it(`answers ${RUNS} random requests without a 5xx, every 4xx with the error object (seed ${seed})`, async () => {
      const request = fc.record({
        method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        template: fc.constantFrom(...paths),
        segments: fc.array(segment, { minLength: 4, maxLength: 4 }),
        query: fc.option(
          fc.string({ maxLength: 40 }).map((s) => `?${s.replace(/[#\s]/g, '')}`),
          { nil: '' },
        ),
        authorization: authorization(rp.token),
        contentType,
        body,
      });
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          let i = 0;
          const path = r.template.replace(/\{[^}]+\}/g, () => r.segments[i++ % r.segments.length] ?? 'x');
          const headers: Record<string, string> = {};
          if (r.authorization !== undefined) headers.authorization = r.authorization;
          if (r.contentType !== undefined) headers['content-type'] = r.contentType;
          const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
          const response = await h.app.inject({ method: r.method as 'GET', url: `${path}${r.query}`, headers, ...(withBody ? { payload: r.body } : {}) });
          expect(response.statusCode, response.body.slice(0, 300)).toBeLessThan(500);
          if (response.statusCode < 400 || r.method === 'HEAD' || isExempt(r.template, response)) return;
          expect(response.headers['content-type'], response.body.slice(0, 300)).toMatch(/^application\/problem\+json/);
          const error = response.json() as Record<string, unknown>;
          expect(error).toMatchObject({ status: response.statusCode, traceId: response.headers['x-trace-id'] });
          expect(typeof error.code).toBe('string');
          expect(typeof error.title).toBe('string');
        }),
        { numRuns: RUNS, seed, endOnFailure: true },
      );
    }, 300_000);
  });
}
