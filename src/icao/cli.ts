/**
 * Command-line entry points of the ICAO module (commander 14):
 *
 *   icao verify --sod F --dg1 F [--dg2 F] [--dg14 F] [--dg15 F] [--trust-store PATH] [--at DATE] [--json]
 *   trust import PATH… [--store DIR] [--json]
 *
 * `icao verify` exits 0 whenever verification ran, whatever the verdict; only unreadable arguments or
 * files are errors (reported through `command.error`, so `exitOverride` turns them into exceptions).
 */
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { DEFAULT_TRUST_STORE, type ImportedItem, TrustStore, listTrustFiles, loadTrustStore } from './trust-store.js';
import { type VerificationResult, verifyDocument } from './verify.js';

export interface CliOutput {
  write(text: string): void;
}

export const stdout: CliOutput = { write: (text) => void process.stdout.write(text) };

/** Anything larger is not a chip file, a certificate or a master list. */
const MAX_INPUT_FILE = 16 * 1024 * 1024;

/** Adds `icao verify` and `trust import` to `program`, reusing existing groups. */
export function registerIcaoCommands(program: Command, output: CliOutput = stdout): void {
  registerVerify(group(program, 'icao', 'ICAO 9303 ePassport verification'), output);
  registerTrustImport(group(program, 'trust', 'CSCA trust store management'), output);
}

function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

function parseDate(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`not a date: ${value}`);
  return date;
}

async function readInput(command: Command, label: string, path: string): Promise<Buffer> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a file');
    if (info.size > MAX_INPUT_FILE) throw new Error(`${info.size} bytes is more than any ICAO file`);
    return await readFile(path);
  } catch (error) {
    return command.error(`cannot read ${label} ${path}: ${(error as Error).message}`, { exitCode: 2, code: 'icao.unreadable' });
  }
}

// ---------------------------------------------------------------------------------------------------------

interface VerifyOptions {
  sod: string;
  dg1: string;
  dg2?: string;
  dg14?: string;
  dg15?: string;
  trustStore?: string;
  at?: Date;
  now?: Date;
  challenge?: string;
  aaSignature?: string;
  json?: boolean;
}

function registerVerify(icao: Command, output: CliOutput): void {
  icao
    .command('verify')
    .description('Verify an ePassport: passive authentication and, with a challenge response, active authentication')
    .requiredOption('--sod <file>', 'EF.SOD')
    .requiredOption('--dg1 <file>', 'DG1 (MRZ)')
    .option('--dg2 <file>', 'DG2 (face)')
    .option('--dg14 <file>', 'DG14 (security infos)')
    .option('--dg15 <file>', 'DG15 (active authentication key)')
    .option('--trust-store <path>', `CSCA/master list/CRL file or folder (default ${DEFAULT_TRUST_STORE})`)
    .option('--at <date>', 'validate certificates at this date instead of the SOD signing time', parseDate)
    .option('--now <date>', 'reference date for document expiry', parseDate)
    .option('--challenge <hex>', 'active authentication challenge that was sent to the chip')
    .option('--aa-signature <file>', "the chip's answer to --challenge")
    .option('--json', 'print the full result as JSON')
    .action(async (opts: VerifyOptions, command: Command) => {
      if (Boolean(opts.challenge) !== Boolean(opts.aaSignature)) command.error('--challenge and --aa-signature go together', { exitCode: 2 });
      if (opts.challenge !== undefined && !/^([0-9a-fA-F]{2})+$/.test(opts.challenge)) command.error('--challenge must be hex', { exitCode: 2 });
      const [sod, dg1, dg2, dg14, dg15, aaSignature] = await Promise.all(
        (['sod', 'dg1', 'dg2', 'dg14', 'dg15', 'aaSignature'] as const).map((key) => {
          const path = opts[key];
          return path === undefined ? undefined : readInput(command, key, path);
        }),
      );
      const trustStore = await openTrustStore(command, opts.trustStore);
      const result = verifyDocument({
        sod: sod as Buffer,
        dg1: dg1 as Buffer,
        dg2,
        dg14,
        dg15,
        trustStore,
        at: opts.at,
        now: opts.now,
        activeAuthentication: opts.challenge && aaSignature ? { challenge: Buffer.from(opts.challenge, 'hex'), signature: aaSignature } : undefined,
      });
      output.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : summarise(result));
    });
}

/** An explicit path must exist; the default store may be absent (then nothing is trusted). */
async function openTrustStore(command: Command, path: string | undefined): Promise<TrustStore> {
  try {
    return await loadTrustStore(path ?? DEFAULT_TRUST_STORE);
  } catch (error) {
    if (path === undefined) return new TrustStore();
    return command.error(`cannot read trust store ${path}: ${(error as Error).message}`, { exitCode: 2, code: 'icao.unreadable' });
  }
}

function summarise(result: VerificationResult): string {
  const lines = [`verdict: ${result.verdict}`];
  for (const [name, check] of Object.entries(result.checks)) lines.push(`  ${name}: ${check.status} — ${check.reason}`);
  if (result.document) {
    const d = result.document;
    lines.push(
      `document: ${d.documentCode} ${d.issuingState} ${d.documentNumber}, ${d.lastName}, ${d.firstName}, born ${d.dateOfBirth}, expires ${d.dateOfExpiry}`,
    );
  }
  if (result.documentExpired) lines.push('document expired');
  for (const reason of result.reasons) lines.push(`reason: ${reason}`);
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------

interface TrustImportReport {
  store: string;
  imported: { file: string; target: string; items: ImportedItem[] }[];
  rejected: { file: string; reason: string }[];
}

function registerTrustImport(trust: Command, output: CliOutput): void {
  trust
    .command('import')
    .description('Validate CSCA certificates, master lists and CRLs and copy them into the trust store folder')
    .argument('<paths...>', 'files or folders to import')
    .option('--store <dir>', 'trust store folder', DEFAULT_TRUST_STORE)
    .option('--json', 'print what was imported and rejected as JSON (exit code 1 when anything was rejected)')
    .action(async (paths: string[], opts: { store: string; json?: boolean }, command: Command) => {
      const files: string[] = [];
      for (const path of paths) {
        try {
          files.push(...(await listTrustFiles(path)));
        } catch (error) {
          command.error(`cannot read ${path}: ${(error as Error).message}`, { exitCode: 2, code: 'icao.unreadable' });
        }
      }
      await mkdir(opts.store, { recursive: true });
      const report: TrustImportReport = { store: opts.store, imported: [], rejected: [] };
      for (const file of files) {
        const verdict = await validateTrustFile(file);
        if (typeof verdict === 'string') {
          report.rejected.push({ file, reason: verdict });
          if (!opts.json) output.write(`rejected ${file}: ${verdict}\n`);
          continue;
        }
        const target = await importTarget(opts.store, file);
        await copyFile(file, target);
        report.imported.push({ file, target, items: verdict });
        if (!opts.json) for (const item of verdict) output.write(`imported ${describeItem(item)} → ${target}\n`);
      }
      if (opts.json) {
        // One JSON document: the rejections are in it, so they are not repeated as an error object.
        output.write(`${JSON.stringify(report, null, 2)}\n`);
        if (report.rejected.length > 0) process.exitCode = 1;
      } else if (report.rejected.length > 0) {
        command.error(`${report.rejected.length} file(s) rejected`, { exitCode: 1, code: 'icao.rejected' });
      }
    });
}

/** Loads one file into a scratch store: the items it holds, or why it cannot be a trust anchor. */
async function validateTrustFile(file: string): Promise<ImportedItem[] | string> {
  const scratch = new TrustStore();
  const items = await scratch.addFile(file);
  const problem = scratch.problems[0];
  if (problem) return `${problem.code}: ${problem.message}`;
  const notCa = items.find((i) => i.kind === 'certificate' && !i.isCA);
  if (notCa && notCa.kind === 'certificate') return `certificate "${notCa.subject}" is not a CA certificate`;
  return items;
}

/** Keeps the file name; a different file of the same name gets a content-hash prefix instead of overwriting it. */
async function importTarget(store: string, file: string): Promise<string> {
  const target = join(store, basename(file));
  const existing = await readFile(target).catch(() => undefined);
  if (!existing) return target;
  const content = await readFile(file);
  if (existing.equals(content)) return target;
  return join(store, `${createHash('sha256').update(content).digest('hex').slice(0, 12)}-${basename(file)}`);
}

function describeItem(item: ImportedItem): string {
  if (item.kind === 'certificate') return `certificate "${item.subject}" (serial ${item.serialNumber})`;
  if (item.kind === 'crl') return `CRL of "${item.issuer}" (${item.revokedCount} revoked)`;
  const ml = item.info;
  return `master list with ${ml.certificateCount} certificates (signature ${ml.signatureValid ? 'valid' : 'INVALID'}, signer ${ml.signerTrusted ? 'trusted' : 'not trusted'}: ${ml.reason})`;
}
