import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { currentSection, ERRORS_DOC_PATH, REGENERATE_COMMAND, SECTIONS } from '../../scripts/errors-doc.js';
import { FAILURE_REASONS } from '../../src/flows/failure-reasons.js';
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
  it('docs/errors.md lists exactly the catalogued error codes and failure reasons', () => {
    const doc = readFileSync(ERRORS_DOC_PATH, 'utf8');
    for (const section of SECTIONS) {
      expect(currentSection(doc, section.marker), `docs/errors.md is out of date with ${section.source}; run: ${REGENERATE_COMMAND}`).toBe(section.render());
    }
  });

  it('failure reasons are snake_case codes, those of the contract among them', () => {
    for (const code of Object.keys(FAILURE_REASONS)) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    // contract.md §7 names these; face_not_usable comes with the readid selfie.
    expect(Object.keys(FAILURE_REASONS)).toEqual(
      expect.arrayContaining([
        'expired',
        'face_mismatch',
        'face_not_usable',
        'identity_mismatch',
        'assurance_level_not_met',
        'user_erased',
        'too_many_failed_uploads',
      ]),
    );
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
