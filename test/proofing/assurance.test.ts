import { describe, expect, it } from 'vitest';
import { assuranceLevel, faceMatchSummary, meetsAssurance, type VerificationSummary } from '../../src/proofing/assurance.js';

const match = { score: 0.82, threshold: 0.6, match: true, model: 'm' };
const mismatch = { score: 0.31, threshold: 0.6, match: false, model: 'm' };
const chip = (over: Partial<VerificationSummary> = {}): VerificationSummary => ({
  document: 'chip',
  cloneDetection: 'active_authentication',
  faceMatch: null,
  reviewedByAgent: false,
  ...over,
});
const image = (over: Partial<VerificationSummary> = {}): VerificationSummary => chip({ document: 'image', cloneDetection: 'not_performed', ...over });

describe('assurance levels', () => {
  it('gives high only to a clone-checked chip whose photo matches the person', () => {
    expect(assuranceLevel(chip({ faceMatch: match }))).toBe('high');
    expect(assuranceLevel(chip({ cloneDetection: 'chip_authentication', faceMatch: match }))).toBe('high');
  });

  it('caps a chip without Active or Chip Authentication at substantial', () => {
    expect(assuranceLevel(chip({ cloneDetection: 'not_performed', faceMatch: match }))).toBe('substantial');
  });

  it('gives low to a chip with no face matched: the person is not bound to the document', () => {
    expect(assuranceLevel(chip())).toBe('low');
    expect(assuranceLevel(chip({ faceMatch: mismatch }))).toBe('low');
  });

  it('gives substantial, never high, to images an agent reviewed', () => {
    expect(assuranceLevel(image({ reviewedByAgent: true }))).toBe('substantial');
    expect(assuranceLevel(image({ reviewedByAgent: true, faceMatch: match }))).toBe('substantial');
    expect(assuranceLevel(image({ reviewedByAgent: true, faceMatch: mismatch }))).toBe('low');
    expect(assuranceLevel(image({ faceMatch: match }))).toBe('low');
  });

  it('gives low to the sandbox whatever it claims', () => {
    expect(assuranceLevel(chip({ document: 'sandbox', faceMatch: match, reviewedByAgent: true }))).toBe('low');
  });

  it('orders the levels', () => {
    expect(meetsAssurance('high', 'substantial')).toBe(true);
    expect(meetsAssurance('substantial', 'substantial')).toBe(true);
    expect(meetsAssurance('low', 'substantial')).toBe(false);
    expect(meetsAssurance('substantial', 'high')).toBe(false);
  });

  it('summarises a face comparison, an unusable one without a score', () => {
    const quality = { faces: 1, flags: [] };
    const base = { model: 'm', modelHash: 'h', threshold: 0.6, reference: quality, probe: quality };
    expect(faceMatchSummary({ ...base, score: 0.8, decision: 'match' })).toEqual({ score: 0.8, threshold: 0.6, match: true, model: 'm' });
    expect(faceMatchSummary({ ...base, decision: 'unusable' })).toEqual({ score: null, threshold: 0.6, match: false, model: 'm' });
  });
});
