/**
 * Pieces of JavaScript source for the few functions generated per shape on the hottest paths (a statement's row
 * builder, a response schema's projection). V8 keeps type feedback per piece of code: one closure serving every
 * table or schema sees all their shapes and goes megamorphic, while a function of its own per shape sees one.
 * Every name is written as a JSON string, so whatever it holds it can only ever be a key.
 */

/** A key of an object literal: `__proto__` would set the literal's prototype, so it is a computed key, an own property. */
export function literalKey(name: string): string {
  return name === '__proto__' ? '["__proto__"]' : JSON.stringify(name);
}

/** A property read, as `[“name”]`: with a constant string V8 compiles it as a named load. */
export function propertyRead(name: string): string {
  return `[${JSON.stringify(name)}]`;
}
