import { CommanderError } from 'commander';
import { AgentValidationError } from '../console/agents.js';
import { ApiError } from '../shared/errors.js';
import { ClientValidationError } from '../oauth/clients.js';
import { RetentionValidationError } from '../retention/policy.js';

/**
 * Errors of the `reuseid` command with stable codes, so that scripts can tell "no such client" from a typo in an
 * option without parsing messages. The catalogue is in docs/errors.md (Command line).
 */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ReportedError {
  code: string;
  message: string;
  exitCode: number;
}

/** Commander's own errors keep their codes (`commander.unknownOption`, `icao.unreadable`…), and so do the API's; the rest are classified. */
export function describeError(error: unknown): ReportedError {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof CommanderError) return { code: error.code, message: error.message.replace(/^error: /, ''), exitCode: error.exitCode || 1 };
  // Services shared with the HTTP API fail with its error codes (subscription_not_found…).
  if (error instanceof ApiError) return { code: error.code, message: error.detail, exitCode: 1 };
  if (error instanceof ClientValidationError || error instanceof AgentValidationError || error instanceof RetentionValidationError)
    return { code: 'invalid_argument', message: error.message, exitCode: 1 };
  return { code: 'command_failed', message: error instanceof Error ? error.message : String(error), exitCode: 1 };
}
