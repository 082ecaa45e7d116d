import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { literalKey, propertyRead } from '../shared/generated-code.js';

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

/**
 * An object's declared keys, in the schema's order; an object that passes unknown keys on is not projected. The copy is
 * a function generated for this schema (shared/generated-code.ts): one object literal of the declared keys, each read
 * by name. One loop shared by every schema read and wrote each key through megamorphic keyed accesses and grew the
 * copy key by key (perf under a Get load: 1.2 % of the CPU). A key left undefined stays in the copy, undefined, and
 * JSON.stringify leaves it out, as the loop did.
 */
function objectProjection(schema: z.ZodObject): Projection | null {
  const catchall = schema._zod.def.catchall;
  if (catchall && catchall._zod.def.type !== 'never') return null;
  const projections: Projection[] = [];
  const fields: string[] = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const project = projection(field as z.ZodType);
    if (!project) return null;
    const read = `value${propertyRead(key)}`;
    fields.push(`${literalKey(key)}: ${project === asIs ? read : `(field = ${read}) === undefined ? undefined : projections[${projections.length}](field)`}`);
    projections.push(project);
  }
  const body = `return (value) => {
    if (typeof value !== 'object' || value === null) return value;
    let field;
    return { ${fields.join(', ')} };
  };`;
  return new Function('projections', body)(projections) as Projection;
}
