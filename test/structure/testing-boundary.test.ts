import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * src/testing holds the generators and simulators for tests and demos. The server must run without them: nothing the
 * server loads may import from there, and only the CLI (which registers their commands) may reach into it.
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const TESTING = join(SRC, 'testing');

/** The project's own modules a source file imports (statically, dynamically or for types), as .ts paths. */
function localImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name).replace(/\.js$/, '.ts'));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

function importGraph(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...entries];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    pending.push(...localImports(file));
  }
  return seen;
}

const inTesting = (file: string) => file.startsWith(`${TESTING}/`);

describe('the line between the server and its test tools', () => {
  it('keeps src/testing out of everything the server loads', () => {
    const loaded = importGraph([join(SRC, 'server.ts'), join(SRC, 'app.ts')]);
    expect(loaded.size).toBeGreaterThan(50);
    expect([...loaded].filter(inTesting).map((file) => relative(SRC, file))).toEqual([]);
  });

  it('lets only the CLI import from src/testing', () => {
    const outside = sourceFiles(SRC).filter((file) => !inTesting(file) && !file.startsWith(`${join(SRC, 'cli')}/`));
    const offenders = outside.filter((file) => localImports(file).some(inTesting)).map((file) => relative(SRC, file));
    expect(offenders).toEqual([]);
  });
});
