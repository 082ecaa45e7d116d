/**
 * `reuseid face compare REFERENCE PROBE... [--json]`: one reference (an image or an EF.DG2 file) against each probe,
 * in one process, through the same worker pool and threshold as the server (REUSEID_FACE_* settings). The reference's
 * template is computed once. Exits 0 whenever the comparisons ran, whatever they decided; a reference without a
 * usable face or an unreadable reference file is an error (exit code 2).
 */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { isDg2, parseDg2Face } from '../icao/dg2.js';
import { MAX_IMAGE_BYTES } from './image.js';
import { createFaceMatcher, type FaceEngine } from './matcher.js';
import type { FaceComparison, FaceTemplate } from './types.js';

export interface FaceCliOutput {
  write(text: string): void;
}

const stdout: FaceCliOutput = { write: (text) => void process.stdout.write(text) };

export interface ProbeResult {
  probe: string;
  score?: number;
  match: boolean;
  /** Why the probe could not be compared: a quality flag (no_face, face_too_small, unreadable_image). */
  error?: string;
  flags?: string[];
}

export function registerFaceCommands(program: Command, output: FaceCliOutput = stdout): void {
  const face = program.commands.find((c) => c.name() === 'face') ?? program.command('face').description('Face matching');
  face
    .command('compare')
    .description('Compare a reference face (image or EF.DG2) with each probe image')
    .argument('<reference>', 'JPEG, PNG, JPEG 2000 or EF.DG2 file')
    .argument('<probes...>', 'JPEG, PNG, JPEG 2000 or EF.DG2 files')
    .option('--json', 'print the results as JSON')
    .action(async (reference: string, probes: string[], opts: { json?: boolean }, command: Command) => {
      const matcher = createFaceMatcher(loadConfig(process.env).faces);
      try {
        const referenceImage = await readFaceImage(reference).catch((error: Error) =>
          command.error(`cannot read reference ${reference}: ${error.message}`, { exitCode: 2, code: 'face.unreadable' }),
        );
        const found = await matcher.template(referenceImage);
        if (!found.template) {
          return command.error(`the reference ${reference} has no usable face (${found.quality.flags.join(', ')})`, {
            exitCode: 2,
            code: 'face.reference_unusable',
          });
        }
        const results = await Promise.all(probes.map((probe) => compareProbe(matcher, found.template, probe)));
        const { modelHash } = await matcher.start();
        const report = { threshold: matcher.threshold, model: matcher.model, modelHash, reference: { file: reference, quality: found.quality }, results };
        output.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : table(report.threshold, results));
      } finally {
        await matcher.close();
      }
    });
}

/** An image file as it is, or the face image inside an EF.DG2 file. */
async function readFaceImage(path: string): Promise<Buffer> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error('not a file');
  if (info.size > MAX_IMAGE_BYTES) throw new Error(`${info.size} bytes is more than a face image`);
  const bytes = await readFile(path);
  return isDg2(bytes) ? parseDg2Face(bytes).image : bytes;
}

async function compareProbe(matcher: FaceEngine, reference: FaceTemplate, probe: string): Promise<ProbeResult> {
  let image: Buffer;
  try {
    image = await readFaceImage(probe);
  } catch {
    // A missing file, a broken DG2 or an oversized file: this probe is reported, the others still run.
    return { probe, match: false, error: 'unreadable_image' };
  }
  return describe(probe, await matcher.compare(reference, image));
}

function describe(probe: string, comparison: FaceComparison): ProbeResult {
  const flags = comparison.probe.flags;
  if (comparison.score === undefined) return { probe, match: false, error: flags.find((f) => f !== 'several_faces') ?? 'no_face', flags };
  return { probe, score: comparison.score, match: comparison.decision === 'match', ...(flags.length ? { flags } : {}) };
}

function table(threshold: number, results: ProbeResult[]): string {
  const width = Math.max(5, ...results.map((r) => r.probe.length));
  const lines = [`${'probe'.padEnd(width)}  score   decision`];
  for (const r of results) {
    const decision = r.error ? `unusable (${r.error})` : r.match ? 'match' : 'no match';
    const note = r.flags?.includes('several_faces') ? '  [several faces: largest used]' : '';
    lines.push(`${r.probe.padEnd(width)}  ${r.score === undefined ? '  -   ' : r.score.toFixed(4)}  ${decision}${note}`);
  }
  lines.push(`threshold ${threshold} (score = 1 - descriptor distance; match when score >= threshold)`);
  return `${lines.join('\n')}\n`;
}
