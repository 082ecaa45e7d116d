import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { print } from '../../cli/options.js';
import { sampleImages } from './sample-images.js';

export function registerVideoIdCommands(program: Command): void {
  const videoid = program.command('videoid').description('VideoID (document and selfie capture reviewed by agents)');
  videoid
    .command('sample-images')
    .description('Write sample captures generated in code: document front and back (PNG), a selfie (JPEG) and the matching MRZ')
    .requiredOption('--out <dir>', 'directory to write to (created)')
    .option('--json', 'machine-readable output')
    .action((flags) => {
      mkdirSync(flags.out, { recursive: true });
      const files = Object.entries(sampleImages()).map(([name, content]) => {
        const path = join(flags.out, name);
        writeFileSync(path, content);
        return path;
      });
      print(flags.json, { files }, files.join('\n'));
    });
}
