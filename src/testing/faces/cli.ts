import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { print } from '../../cli/options.js';
import { SAMPLE_PEOPLE_COUNT, samplePeople } from './index.js';

/**
 * `reuseid face samples --out DIR [--person N] [--json]`: one sample person's document photo and selfie (JPEG), derived
 * from the MIT-licensed demo photos that @vladmandic/face-api ships, for trying face matching by hand (`face compare`,
 * `passport generate --photo`, `device proof --selfie`). Test material: nothing the server runs imports it.
 */
export function registerFaceSampleCommands(program: Command): void {
  const face = program.commands.find((c) => c.name() === 'face') ?? program.command('face').description('Face matching');
  face
    .command('samples')
    .description("Write a sample person's document photo and selfie (JPEG), derived from face-api's MIT demo images")
    .requiredOption('--out <dir>', 'directory to write to (created)')
    .option('--person <n>', `sample person, 1 to ${SAMPLE_PEOPLE_COUNT}`, '1')
    .option('--json', 'machine-readable output')
    .action(async (flags: { out: string; person: string; json?: boolean }, command: Command) => {
      const person = (await samplePeople())[samplePerson(flags.person, command) - 1]!;
      await mkdir(flags.out, { recursive: true });
      const files = { documentPhoto: join(flags.out, 'document-photo.jpg'), selfie: join(flags.out, 'selfie.jpg') };
      await writeFile(files.documentPhoto, person.documentPhoto);
      await writeFile(files.selfie, person.selfie);
      print(Boolean(flags.json), { person: person.name, files }, `${files.documentPhoto}\n${files.selfie}`);
    });
}

/** `--person N` as a number from 1 to SAMPLE_PEOPLE_COUNT, or the command fails with exit code 2. */
export function samplePerson(value: string, command: Command): number {
  const person = Number(value);
  if (!Number.isInteger(person) || person < 1 || person > SAMPLE_PEOPLE_COUNT) {
    command.error(`--person must be 1 to ${SAMPLE_PEOPLE_COUNT}, not ${value}`, { exitCode: 2 });
  }
  return person;
}
