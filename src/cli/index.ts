import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from '../audit/cli.js';
import { registerEventCommands } from '../events/cli.js';
import { registerIcaoCommands } from '../icao/cli.js';
import { registerAgentCommands } from '../console/cli.js';
import { registerVideoIdCommands } from '../proofing/providers/videoid/cli.js';
import { registerClientCommands } from './clients.js';
import { registerDeviceCommands } from './device.js';
import { registerServerCommands } from './server.js';

/** The `reuseid` command: one program, commands registered by domain. */
export function buildProgram(): Command {
  const program = new Command('reuseid')
    .description('Self-hostable reusable identity server (ReuseID Onboarding API)')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  registerServerCommands(program);
  registerClientCommands(program);
  registerDeviceCommands(program);
  registerAgentCommands(program);
  registerVideoIdCommands(program);
  registerEventCommands(program);
  registerAuditCommands(program);
  registerIcaoCommands(program);
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    console.error(`reuseid: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
