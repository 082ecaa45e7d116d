import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from '../audit/cli.js';
import { registerEventCommands } from '../events/cli.js';
import { registerFaceCommands } from '../faces/cli.js';
import { registerIcaoCommands } from '../icao/cli.js';
import { registerAgentCommands } from '../console/cli.js';
import { registerAccountCommands } from './accounts.js';
import { registerClientCommands } from './clients.js';
import { describeError } from './errors.js';
import { registerServerCommands } from './server.js';
import { registerFaceSampleCommands } from '../testing/faces/cli.js';
import { registerVideoIdCommands } from '../testing/media/cli.js';
import { registerPassportCommands } from '../testing/passports/cli.js';
import { registerDeviceCommands } from '../testing/simulator/cli.js';
import { registerWalletCommands } from '../testing/wallet/cli.js';

/**
 * The `reuseid` command: one program, commands registered by domain. With `json`, commander's own error text is
 * silenced so that the error reaches stdout once, as JSON (see runCli). Settings are made before the commands are
 * registered because subcommands copy them when they are created.
 */
export function buildProgram(options: { json?: boolean } = {}): Command {
  const program = new Command('reuseid')
    .description('Self-hostable reusable identity server (ReuseID Onboarding API)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureHelp({ sortSubcommands: true })
    .exitOverride();
  if (options.json) program.configureOutput({ outputError: () => undefined });
  else program.showHelpAfterError();
  registerServerCommands(program);
  registerClientCommands(program);
  registerAccountCommands(program);
  registerDeviceCommands(program);
  registerWalletCommands(program);
  registerAgentCommands(program);
  registerVideoIdCommands(program);
  registerEventCommands(program);
  registerAuditCommands(program);
  registerIcaoCommands(program);
  registerFaceCommands(program);
  registerFaceSampleCommands(program);
  registerPassportCommands(program);
  return program;
}

/** Read at run time beside the compiled module (dist/cli → package root), so the version cannot drift from the package. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** Errors go to stderr as text, or with `--json` to stdout as `{"error": {code, message}}`; either way the exit code is non-zero. */
export async function runCli(argv: string[]): Promise<void> {
  const json = argv.slice(2).includes('--json');
  const program = buildProgram({ json });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // Help and version end the program through the same exception, successfully.
    if (error instanceof CommanderError && error.exitCode === 0) process.exit(0);
    const { code, message, exitCode } = describeError(error);
    if (json) console.log(JSON.stringify({ error: { code, message } }, null, 2));
    // Commander printed its own errors already.
    else if (!(error instanceof CommanderError)) console.error(`reuseid: ${message}`);
    process.exit(exitCode);
  }
}
