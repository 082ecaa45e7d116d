import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { currentErrorTable, ERRORS_DOC_PATH, REGENERATE_COMMAND, renderErrorTable } from '../../scripts/errors-doc.js';
import { apiError, ERROR_CATALOGUE, errors, type ErrorCode } from '../../src/shared/errors.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sourceFiles(): { path: string; text: string }[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => ({ path: relative(SRC, join(SRC, path)).replaceAll('\\', '/'), text: readFileSync(join(SRC, path), 'utf8') }));
}

function occurrences(pattern: RegExp, skip: (path: string) => boolean = () => false): string[] {
  return sourceFiles()
    .filter((file) => !skip(file.path))
    .flatMap((file) => file.text.split('\n').flatMap((line, index) => (pattern.test(line) ? [`src/${file.path}:${index + 1}: ${line.trim()}`] : [])));
}

describe('error catalogue', () => {
  it('docs/errors.md lists exactly the catalogued codes', () => {
    const documented = currentErrorTable(readFileSync(ERRORS_DOC_PATH, 'utf8'));
    expect(documented, `docs/errors.md is out of date with src/shared/errors.ts; run: ${REGENERATE_COMMAND}`).toBe(renderErrorTable());
  });

  it('every error is raised through the catalogue: no new ApiError outside it, no free-string codes', () => {
    expect(occurrences(/new ApiError\(/, (path) => path === 'shared/errors.ts')).toEqual([]);
    expect(occurrences(/errors\.conflict\(\s*['"`]/)).toEqual([]);
  });

  it('an error takes its status and title from the catalogue', () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
      const error = apiError(code, 'detail');
      expect({ code: error.code, status: error.status, title: error.title }).toEqual({
        code,
        status: ERROR_CATALOGUE[code].status,
        title: ERROR_CATALOGUE[code].title,
      });
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(ERROR_CATALOGUE[code].status).toBeGreaterThanOrEqual(400);
    }
  });

  it('the factories add the headers their status calls for', () => {
    expect(errors.tooManyRequests(2.2).headers).toEqual({ 'Retry-After': '3' });
    expect(errors.invalidToken().headers).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    expect(errors.invalidParameters([{ name: 'email', reason: 'invalid' }])).toMatchObject({
      status: 422,
      code: 'invalid_request_parameter',
      invalidParams: [{ name: 'email', reason: 'invalid' }],
    });
    expect(errors.frameworkRejection(405)).toMatchObject({ status: 405, code: 'invalid_request', title: 'Invalid request' });
  });
});
