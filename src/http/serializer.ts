import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';

/** Copies of a value holding only what its response schema declares. */
type Projection = (value: unknown) => unknown;

const asIs: Projection = (value) => value;

/**
 * The app's response serializer. An answer is written as its projection on the route's response schema: only the keys
 * the schema declares, at every depth, as zod's encode writes them, so a field a handler did not mean to publish (an
 * internal column, a key inside stored JSON) never reaches the wire. What it leaves out is zod's check of every value:
 * the handlers' return types are already checked against the same schemas when the code compiles (ZodTypeProvider),
 * and that check, rebuilding each answer value by value, was the largest cost of a Get onboarding after the database
 * (perf: about 5 µs of 70). A schema this cannot project (unions, transforms, records) keeps zod's serializer.
 */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = (route) => {
  const schema = route.schema as z.ZodType;
  const project = typeof schema === 'object' && schema !== null && '_zod' in schema ? projection(schema) : null;
  if (!project) return zodSerializerCompiler(route as Parameters<typeof zodSerializerCompiler>[0]);
  return (data) => JSON.stringify(project(data));
};

/** The projection of a schema, or null when its shape is not fixed by the schema alone. */
export function projection(schema: z.ZodType): Projection | null {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType; element?: z.ZodType };
  switch (def.type) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'enum':
    case 'literal':
    case 'null':
    case 'unknown':
    case 'any':
      return asIs;
    case 'optional':
    case 'nullable':
    case 'readonly': {
      const inner = projection(def.innerType!);
      return inner && ((value) => (value === undefined || value === null ? value : inner(value)));
    }
    case 'array': {
      const element = projection(def.element!);
      return element && ((value) => (Array.isArray(value) ? value.map(element) : value));
    }
    case 'object':
      return objectProjection(schema as z.ZodObject);
    default:
      return null;
  }
}

/** An object's declared keys, in the schema's order; an object that passes unknown keys on is not projected. */
function objectProjection(schema: z.ZodObject): Projection | null {
  const catchall = schema._zod.def.catchall;
  if (catchall && catchall._zod.def.type !== 'never') return null;
  const keys: string[] = [];
  const projections: Projection[] = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const project = projection(field as z.ZodType);
    if (!project) return null;
    keys.push(key);
    projections.push(project);
  }
  return (value) => {
    if (typeof value !== 'object' || value === null) return value;
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const field = source[keys[i]!];
      if (field !== undefined) out[keys[i]!] = projections[i]!(field);
    }
    return out;
  };
}
