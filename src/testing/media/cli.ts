import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { print } from '../../cli/options.js';
import { SAMPLE_PEOPLE_COUNT } from '../faces/index.js';
import { samplePerson } from '../faces/cli.js';
import { samplePersonImages } from './sample-images.js';

export function registerVideoIdCommands(program: Command): void {
  const videoid = program.command('videoid').description('VideoID (document and selfie capture reviewed by agents)');
  videoid
    .command('sample-images')
    .description(
      "Write sample captures: a document front (PNG) with a sample person's document photo, the back (PNG), that person's selfie (JPEG) and the matching MRZ",
    )
    .requiredOption('--out <dir>', 'directory to write to (created)')
    .option('--person <n>', `sample person, 1 to ${SAMPLE_PEOPLE_COUNT}`, '1')
    .option('--json', 'machine-readable output')
    .action(async (flags: { out: string; person: string; json?: boolean }, command: Command) => {
      const person = samplePerson(flags.person, command);
      mkdirSync(flags.out, { recursive: true });
      const files = Object.entries(await samplePersonImages(person)).map(([name, content]) => {
        const path = join(flags.out, name);
        writeFileSync(path, content);
        return path;
      });
      print(Boolean(flags.json), { files }, files.join('\n'));
    });
}
