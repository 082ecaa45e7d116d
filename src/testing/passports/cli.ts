/**
 * `passport generate --out DIR [person and document options] [--algorithm …] [--variant …] [--photo FILE]
 * [--photo-format jpeg|jpeg2000] [--json]`: synthetic ePassports for tests and demos, written as the chip files
 * `icao verify` and the device simulator read.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { stdout, type CliOutput } from '../../icao/cli.js';
import {
  type GeneratedPassport,
  PASSPORT_ALGORITHMS,
  PASSPORT_VARIANTS,
  type PassportAlgorithm,
  type PassportVariant,
  generatePassport,
  writePassportDirectory,
} from './generator.js';
import { type DocumentPhoto, PHOTO_FORMATS, type PhotoFormat, preparePhoto } from './photo.js';
import { SAMPLE_FACE_JPEG } from './sample-face.js';

export function registerPassportCommands(program: Command, output: CliOutput = stdout): void {
  registerGenerate(program.command('passport').description('Synthetic ePassports for tests and demos'), output);
}

interface GenerateOptions {
  out: string;
  lastName?: string;
  firstName?: string;
  nationality?: string;
  dateOfBirth?: string;
  gender?: 'M' | 'F' | 'X';
  documentNumber?: string;
  expiry?: string;
  issuingState?: string;
  algorithm: PassportAlgorithm;
  aaKey: 'rsa' | 'ecdsa' | 'none';
  variant?: PassportVariant;
  photo?: string;
  photoFormat?: PhotoFormat;
  json?: boolean;
}

function registerGenerate(passport: Command, output: CliOutput): void {
  passport
    .command('generate')
    .description('Generate a synthetic passport (chip files, CSCA, AA key) into a directory')
    .requiredOption('--out <dir>', 'output directory (created)')
    .option('--last-name <name>', "holder's primary identifier (default: ERIKSSON)")
    .option('--first-name <names>', "holder's secondary identifiers, space-separated (default: ANNA MARIA)")
    .option('--nationality <code>', 'ICAO code, e.g. UTO, NLD, D (default: the issuing state)')
    .option('--date-of-birth <YYYY-MM-DD>', "holder's date of birth (default: 1974-08-12)")
    .addOption(new Option('--gender <sex>', "holder's sex as printed in the MRZ (default: F)").choices(['M', 'F', 'X']))
    .option('--document-number <number>', 'document number, up to 9 characters in the MRZ (default: L898902C3)')
    .option('--expiry <YYYY-MM-DD>', 'date of expiry (default: five years from today)')
    .option('--issuing-state <code>', 'ICAO code of the issuing state (default: UTO)')
    .addOption(new Option('--algorithm <algorithm>', 'signature algorithm of the CSCA and document signer').choices(PASSPORT_ALGORITHMS).default('ecdsa-p256'))
    .addOption(
      new Option('--aa-key <type>', 'active authentication key in DG15 (none: no active authentication)').choices(['rsa', 'ecdsa', 'none']).default('rsa'),
    )
    .addOption(new Option('--variant <variant>', 'break one thing on purpose').choices(PASSPORT_VARIANTS))
    .option('--photo <file>', "holder's photo for DG2, JPEG or PNG (default: a tiny built-in sample face)")
    .addOption(new Option('--photo-format <format>', 'how DG2 stores the photo (default: jpeg)').choices(PHOTO_FORMATS))
    .option('--json', 'print a JSON summary')
    .action(async (opts: GenerateOptions, command: Command) => {
      for (const date of [opts.dateOfBirth, opts.expiry]) {
        if (date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(date)) command.error(`date ${date} is not YYYY-MM-DD`, { exitCode: 2 });
      }
      let generated: GeneratedPassport;
      try {
        generated = generatePassport({ ...opts, csca: undefined, photo: await photoFor(opts) });
      } catch (error) {
        return command.error(`cannot generate passport: ${(error as Error).message}`, { exitCode: 2 });
      }
      const paths = await writePassportDirectory(opts.out, generated);
      const summary = { directory: opts.out, algorithm: generated.algorithm, variant: generated.variant ?? null, mrz: generated.mrz, files: paths };
      output.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${generated.mrz.join('\n')}\nwrote ${paths.length} files to ${opts.out}\n`);
    });
}

/** The DG2 photo the options ask for: none (the generator's default), or a file or the sample face re-encoded. */
async function photoFor(opts: Pick<GenerateOptions, 'photo' | 'photoFormat'>): Promise<DocumentPhoto | undefined> {
  if (opts.photo === undefined && opts.photoFormat === undefined) return undefined;
  let image = SAMPLE_FACE_JPEG;
  if (opts.photo !== undefined) {
    try {
      image = await readFile(opts.photo);
    } catch (error) {
      throw new Error(`cannot read the photo ${opts.photo}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  try {
    return await preparePhoto(image, opts.photoFormat);
  } catch (error) {
    throw new Error(`${opts.photo ?? 'sample face'}: ${(error as Error).message}`);
  }
}
