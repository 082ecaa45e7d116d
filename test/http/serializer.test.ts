import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TransactionDataSchema } from '../../src/flows/schemas.js';
import { projection, serializerCompiler } from '../../src/http/serializer.js';

const route = (schema: z.ZodType) => ({ schema, method: 'GET', url: '/test', httpStatus: '200' });
const serialize = (schema: z.ZodType, data: unknown) => serializerCompiler(route(schema))(data);
const serializeWithZod = (schema: z.ZodType, data: unknown) => zodSerializerCompiler(route(schema))(data);

describe('response serializer', () => {
  const Answer = z.object({
    data: z.object({
      id: z.string(),
      note: z.string().optional(),
      score: z.number().nullable(),
      tags: z.array(z.object({ name: z.string() })),
      nested: z.object({ level: z.enum(['low', 'high']) }).optional(),
      strict: z.strictObject({ on: z.boolean() }),
    }),
  });

  it('writes only the keys the schema declares, at every depth, as zod does', () => {
    const built = {
      data: {
        id: 'tx-1',
        score: null,
        note: undefined,
        tags: [{ name: 'a', internal: 'hidden' }],
        nested: { level: 'high', sealedColumn: 'hidden' },
        strict: { on: true, extra: 'hidden' },
        activationCodeHash: 'hidden',
      },
      debug: 'hidden',
    };
    const written = serialize(Answer, built);
    expect(written).not.toContain('hidden');
    expect(JSON.parse(written)).toEqual({ data: { id: 'tx-1', score: null, tags: [{ name: 'a' }], nested: { level: 'high' }, strict: { on: true } } });
  });

  it('writes what zod writes for a Get onboarding answer, in the same order', () => {
    const data = {
      status: 'Completed',
      transactionId: 't',
      userId: 'u',
      deviceId: 'd',
      dossierId: 'o',
      processId: 'p',
      provider: 'readid',
      userData: { firstName: 'A', lastName: 'B', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NLD' },
      stage: 'done',
      assuranceLevel: 'high',
      verification: { document: 'chip', cloneDetection: 'active_authentication', faceMatch: null, reviewedByAgent: false },
      createdAt: '2026-12-02T00:00:00.000Z',
      expiresAt: '2026-12-02T01:00:00.000Z',
      endedAt: '2026-12-02T00:10:00.000Z',
    };
    const schema = z.object({ data: TransactionDataSchema });
    expect(serialize(schema, { data })).toBe(serializeWithZod(schema, { data }));
  });

  it('writes a key holding quotes, backslashes or line breaks as zod does, and runs none of it', () => {
    const schema = z.object({ 'a"b': z.string(), 'c\\d': z.number(), 'e\nf': z.object({ '"}; globalThis.injected = 1; ({"': z.boolean() }) });
    const data = { 'a"b': 'x', 'c\\d': 1, 'e\nf': { '"}; globalThis.injected = 1; ({"': true, other: 'hidden' } };
    expect(serialize(schema, data)).toBe(serializeWithZod(schema, data));
    expect('injected' in globalThis).toBe(false);
  });

  it("keeps zod's serializer, which checks every value, for a shape the schema alone does not fix", () => {
    for (const schema of [
      z.object({ value: z.union([z.string(), z.number()]) }),
      z.object({ when: z.string().transform((s) => s.length) }),
      z.looseObject({ id: z.string() }),
      z.record(z.string(), z.string()),
    ]) {
      expect(projection(schema)).toBeNull();
      expect(() => serialize(schema, { value: true, when: 1, id: 1, x: 1 })).toThrow();
    }
  });
});
