import { Command, CommanderError } from 'commander';

/** Runs one CLI command group in-process, as `reuseid ARGS` would: what it printed, and the exit error if any. */
export async function runCommands(
  register: (program: Command, io: { write: (s: string) => void }) => void,
  args: string[],
): Promise<{ out: string; error?: CommanderError }> {
  let out = '';
  const program = new Command('reuseid').exitOverride().configureOutput({ writeOut: (s) => void (out += s), writeErr: () => undefined });
  register(program, { write: (s: string) => void (out += s) });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { out, error };
  }
}
