import { describe, expect, it } from 'vitest';
import { ageOn, IDENTITY_DISCLOSURE_FRAME } from '../../src/credentials/claims.js';
import { IDENTITY_CLAIMS } from '../../src/credentials/metadata.js';

describe('identity credential claims', () => {
  it('discloses selectively exactly the claims the issuer metadata publishes', () => {
    const framed = [
      ...IDENTITY_DISCLOSURE_FRAME._sd.filter((name) => name !== 'age_equal_or_over').map((name) => [name]),
      ...IDENTITY_DISCLOSURE_FRAME.age_equal_or_over._sd.map((age) => ['age_equal_or_over', age]),
    ];
    expect(framed.map((path) => path.join('.')).sort()).toEqual(IDENTITY_CLAIMS.map((claim) => claim.path.join('.')).sort());
    expect(IDENTITY_DISCLOSURE_FRAME._sd).toContain('age_equal_or_over');
  });

  it('counts ages in whole years, a 29 February birthday coming of age on 1 March', () => {
    expect(ageOn('2008-03-01', '2026-02-28')).toBe(17);
    expect(ageOn('2008-03-01', '2026-03-01')).toBe(18);
    expect(ageOn('2008-02-29', '2026-02-28')).toBe(17);
    expect(ageOn('2008-02-29', '2026-03-01')).toBe(18);
    expect(ageOn('2005-12-01', '2026-12-01')).toBe(21);
  });
});
