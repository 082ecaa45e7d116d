// Regenerates the API error table of docs/errors.md from the error catalogue (src/shared/errors.ts), so the doc
// lists exactly the codes a client can receive. `npx tsx scripts/errors-doc.ts --write` rewrites the section between
// the markers; without --write it exits non-zero when the section is stale (for CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE, type ErrorCode } from '../src/shared/errors.js';

export const ERRORS_DOC_PATH = fileURLToPath(new URL('../docs/errors.md', import.meta.url));
export const REGENERATE_COMMAND = 'npx tsx scripts/errors-doc.ts --write';
const START = '<!-- error-catalogue:start -->';
const END = '<!-- error-catalogue:end -->';

/** The table, ordered by status then as listed in the catalogue; pipes in text are escaped for Markdown. */
export function renderErrorTable(): string {
  const codes = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).map((code, index) => ({ code, index, ...ERROR_CATALOGUE[code] }));
  codes.sort((a, b) => a.status - b.status || a.index - b.index);
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = codes.map((e) => `| \`${e.code}\` | ${e.status} | ${cell(e.title)} | ${cell(e.description)} |`);
  return ['| code | status | title | when |', '|---|---|---|---|', ...rows].join('\n');
}

/** The document's current generated section (between the markers), or undefined when the markers are missing. */
export function currentErrorTable(doc: string): string | undefined {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) return undefined;
  return doc.slice(start + START.length, end).trim();
}

function replaceErrorTable(doc: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${ERRORS_DOC_PATH} lacks the ${START} … ${END} markers`);
  return `${doc.slice(0, start + START.length)}\n${renderErrorTable()}\n${doc.slice(end)}`;
}

function main(argv: string[]): number {
  const doc = readFileSync(ERRORS_DOC_PATH, 'utf8');
  if (argv.includes('--write')) {
    writeFileSync(ERRORS_DOC_PATH, replaceErrorTable(doc));
    return 0;
  }
  if (currentErrorTable(doc) === renderErrorTable()) return 0;
  console.error(`docs/errors.md is out of date with src/shared/errors.ts; run: ${REGENERATE_COMMAND}`);
  return 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
