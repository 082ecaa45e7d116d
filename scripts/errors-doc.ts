// Regenerates the generated tables of docs/errors.md: the API errors from the error catalogue (src/shared/errors.ts)
// and the failure reasons from their catalogue (src/flows/failure-reasons.ts), so the doc lists exactly the codes a
// client can receive. `npx tsx scripts/errors-doc.ts --write` rewrites the sections between the markers; without
// --write it exits non-zero when a section is stale (for CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FAILURE_REASONS, type FailureReason } from '../src/flows/failure-reasons.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../src/shared/errors.js';

export const ERRORS_DOC_PATH = fileURLToPath(new URL('../docs/errors.md', import.meta.url));
export const REGENERATE_COMMAND = 'npx tsx scripts/errors-doc.ts --write';

/** A generated section: its marker name (`<!-- NAME:start -->` … `<!-- NAME:end -->`) and its table. */
interface Section {
  marker: string;
  source: string;
  render: () => string;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The API errors, ordered by status then as listed in the catalogue; pipes in text are escaped for Markdown. */
export function renderErrorTable(): string {
  const codes = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).map((code, index) => ({ code, index, ...ERROR_CATALOGUE[code] }));
  codes.sort((a, b) => a.status - b.status || a.index - b.index);
  const rows = codes.map((e) => `| \`${e.code}\` | ${e.status} | ${cell(e.title)} | ${cell(e.description)} |`);
  return ['| code | status | title | when |', '|---|---|---|---|', ...rows].join('\n');
}

/** The failure reasons, as listed in their catalogue. */
export function renderFailureReasonTable(): string {
  const rows = (Object.entries(FAILURE_REASONS) as [FailureReason, (typeof FAILURE_REASONS)[FailureReason]][]).map(
    ([code, reason]) => `| \`${code}\` | ${cell(reason.by)} | ${cell(reason.description)} |`,
  );
  return ['| failureReason | set by | when |', '|---|---|---|', ...rows].join('\n');
}

export const SECTIONS: readonly Section[] = [
  { marker: 'error-catalogue', source: 'src/shared/errors.ts', render: renderErrorTable },
  { marker: 'failure-reasons', source: 'src/flows/failure-reasons.ts', render: renderFailureReasonTable },
];

function bounds(doc: string, marker: string): { from: number; to: number } | undefined {
  const start = `<!-- ${marker}:start -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(`<!-- ${marker}:end -->`);
  return from < 0 || to < from ? undefined : { from: from + start.length, to };
}

/** The document's current generated section (between the markers), or undefined when the markers are missing. */
export function currentSection(doc: string, marker: string): string | undefined {
  const at = bounds(doc, marker);
  return at && doc.slice(at.from, at.to).trim();
}

function replaceSection(doc: string, section: Section): string {
  const at = bounds(doc, section.marker);
  if (!at) throw new Error(`${ERRORS_DOC_PATH} lacks the <!-- ${section.marker}:start --> … <!-- ${section.marker}:end --> markers`);
  return `${doc.slice(0, at.from)}\n${section.render()}\n${doc.slice(at.to)}`;
}

function main(argv: string[]): number {
  const doc = readFileSync(ERRORS_DOC_PATH, 'utf8');
  if (argv.includes('--write')) {
    writeFileSync(ERRORS_DOC_PATH, SECTIONS.reduce(replaceSection, doc));
    return 0;
  }
  const stale = SECTIONS.filter((section) => currentSection(doc, section.marker) !== section.render());
  for (const section of stale) console.error(`docs/errors.md is out of date with ${section.source}; run: ${REGENERATE_COMMAND}`);
  return stale.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
