import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '../../src/events/catalogue.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }>; schemas?: Record<string, unknown> };
}

const operationsOf = (doc: OpenApiDocument) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ at: `${method.toUpperCase()} ${path}`, ...operation })),
  );

/**
 * What `redocly lint` (recommended rules) checks of every operation, kept true by the suite: an operationId, and a
 * declared security requirement. CI lints the whole document (`node scripts/openapi.mjs | redocly lint`).
 */
describe('OpenAPI document', () => {
  // The document does not depend on the database; sandbox on, so the sandbox provider's route is in it too.
  const t = useHarness(testDatabases[0]!);
  const document = async () => (await t.h.app.inject({ method: 'GET', url: '/reuseid/openapi.json' })).json() as OpenApiDocument;

  it('names every operation with a unique camelCase operationId', async () => {
    const operations = operationsOf(await document());
    expect(operations.length).toBeGreaterThan(20);
    for (const operation of operations) expect(operation.operationId, operation.at).toMatch(/^[a-z][A-Za-z]+$/);
    expect(new Set(operations.map((o) => o.operationId)).size).toBe(operations.length);
    const byPath = Object.fromEntries(operations.map((o) => [o.at, o.operationId]));
    expect(byPath).toMatchObject({
      'POST /reuseid/onboarding': 'startOnboarding',
      'GET /reuseid/onboarding/{transactionId}': 'getOnboarding',
      'POST /reuseid/step-up': 'startStepUp',
      'GET /reuseid/step-up/{transactionId}': 'getStepUp',
      'POST /device/v1/activations': 'activateDevice',
    });
  });

  it('declares security for every operation: OAuth 2.0 for RPs, the device signature for signed device requests', async () => {
    const doc = await document();
    expect(doc.components.securitySchemes.deviceSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    for (const operation of operationsOf(doc)) {
      expect(operation.security, operation.at).toBeDefined();
      for (const requirement of operation.security!)
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes[scheme], operation.at).toBeDefined();
      if (operation.at.startsWith('POST /device/v1/activations')) expect(operation.security).toEqual([]);
      else if (operation.at.includes(' /device/v1/')) {
        expect(operation.security, operation.at).toEqual([{ deviceSignature: [] }]);
        expect(operation.responses['401'], operation.at).toBeDefined();
      } else expect(Object.keys(operation.security![0]!), operation.at).toEqual(['oauth2']);
    }
    expect(operationsOf(doc).map((o) => o.at)).toContain('POST /device/v1/transactions/{transactionId}/proofing/sandbox');
  });

  it('lists the event catalogue as the allowed subscription event names', async () => {
    const doc = await document();
    expect(JSON.stringify(doc.paths['/events/subscriptions']!.post)).toContain(JSON.stringify([...EVENT_NAMES]));
  });

  it('is printed by scripts/openapi.mjs (from the build) for linting', async () => {
    const script = join(import.meta.dirname, '../../scripts/openapi.mjs');
    const { stdout } = await promisify(execFile)('node', [script], { env: { ...process.env, REUSEID_PUBLIC_URL: 'https://id.example' } });
    const printed = JSON.parse(stdout) as OpenApiDocument & { servers: { url: string }[] };
    expect(printed.servers).toEqual([{ url: 'https://id.example' }]);
    expect(operationsOf(printed).every((o) => o.operationId && o.security)).toBe(true);
  });
});
