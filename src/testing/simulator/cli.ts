import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { submitReadIdPassport } from './readid.js';
import { submitVideoIdCapture } from './videoid.js';
import { decodeOperationContext, DeviceClient, type DeviceState, type OperationContext } from '../../sdk/device.js';
import { print } from '../../cli/options.js';

/**
 * A device simulator on top of the device SDK, so that a whole flow runs without a phone. The state file holds the
 * device's private key (owner-only permissions) and the transaction it is working on.
 */
type SimulatorState = DeviceState & { transactionId?: string };

export function registerDeviceCommands(program: Command): void {
  const device = program.command('device').description('Device simulator speaking the device API');

  device
    .command('activate')
    .description('Activate a new device with an activation code')
    .requiredOption('--server <url>', 'server base URL (as configured in REUSEID_PUBLIC_URL)')
    .requiredOption('--activation-code <code>', 'the activation code from Start onboarding')
    .requiredOption('--state <file>', 'where to keep the device state (created)')
    .option('--json', 'machine-readable output')
    .action(async (flags) => {
      const client = await DeviceClient.create(flags.server);
      const result = await client.activate(flags.activationCode);
      save(flags.state, { ...client.state, transactionId: result.transactionId });
      report(flags.json, { deviceId: result.deviceId, userId: result.userId, transactionId: result.transactionId }, result.post_operation_context, 'post');
    });

  device
    .command('approve')
    .description('Approve (or --reject) the pending step-up operation of this device')
    .option('--server <url>', 'server base URL (default: the one in the state file)')
    .requiredOption('--state <file>', 'the device state file')
    .option('--reject', 'refuse instead of approving')
    .option('--json', 'machine-readable output')
    .action(async (flags) => {
      const { client } = load(flags.state, flags.server);
      const [operation] = await client.pendingOperations();
      if (!operation) throw new Error('This device has no pending operation');
      const pre = decodeOperationContext(operation.pre_operation_context);
      const result = await client.decide(operation, flags.reject ? 'reject' : 'approve');
      save(flags.state, { ...client.state, transactionId: operation.transactionId });
      report(
        flags.json,
        { transactionId: result.transactionId, status: result.status, stage: result.stage, preOperation: pre },
        result.post_operation_context,
        'post',
      );
    });

  device
    .command('proof')
    .description('Submit identity proofing for the current transaction')
    .option('--server <url>', 'server base URL (default: the one in the state file)')
    .requiredOption('--state <file>', 'the device state file')
    .requiredOption('--provider <provider>', 'sandbox, signicatvideoid or readid')
    .option('--transaction <id>', 'the transaction (default: the last one in the state file)')
    .option('--outcome <outcome>', 'sandbox: accepted or rejected', 'accepted')
    .option('--first-name <name>', 'sandbox identity', 'JANE')
    .option('--last-name <name>', 'sandbox identity', 'SMITH')
    .option('--date-of-birth <date>', 'sandbox identity (YYYY-MM-DD)', '1990-01-01')
    .option('--gender <gender>', 'sandbox identity (M, F or X)', 'F')
    .option('--nationality <code>', 'sandbox identity (ISO 3166-1 alpha-3)', 'NOR')
    .option('--reason <code>', 'sandbox rejection reason', 'sandbox_rejected')
    .option('--document-front <file>', 'signicatvideoid: image of the document front (JPEG or PNG)')
    .option('--document-back <file>', 'signicatvideoid: image of the document back (ID cards)')
    .option('--selfie <file>', 'signicatvideoid and readid: selfie (JPEG or PNG)')
    .option('--video <file>', 'signicatvideoid: short video (WebM or MP4)')
    .option('--doc-type <n>', 'signicatvideoid: document type (default: the one the RP preselected)')
    .option('--mrz <text>', 'signicatvideoid: the MRZ as read by the app (lines separated by newlines)')
    .option('--passport <dir>', 'readid: a directory written by `reuseid passport generate` (chip files and chip-key.pem)')
    .option('--json', 'machine-readable output')
    .action(async (flags) => {
      const { client, state } = load(flags.state, flags.server);
      const transactionId: string | undefined = flags.transaction ?? state.transactionId;
      if (!transactionId) throw new Error('No transaction: activate or approve first, or pass --transaction');
      if (flags.provider === 'signicatvideoid') {
        if (!flags.documentFront || !flags.selfie) throw new Error('signicatvideoid needs --document-front and --selfie');
        const result = await submitVideoIdCapture(client, transactionId, flags);
        return print(flags.json, result, `transaction ${result.transactionId}: ${result.status}, stage ${result.stage}`);
      }
      if (flags.provider === 'readid') {
        if (!flags.passport) throw new Error('readid needs --passport');
        const result = await submitReadIdPassport(client, transactionId, flags.passport, { selfie: flags.selfie });
        return print(
          flags.json,
          result,
          `transaction ${result.transactionId}: ${result.status}, stage ${result.stage}; verdict ${result.readid.verdict}${result.readid.reason ? ` (${result.readid.reason})` : ''}`,
        );
      }
      if (flags.provider !== 'sandbox') throw new Error(`Unsupported provider for this simulator: ${flags.provider}`);
      const body =
        flags.outcome === 'accepted'
          ? {
              outcome: 'accepted',
              identity: {
                firstName: flags.firstName,
                lastName: flags.lastName,
                dateOfBirth: flags.dateOfBirth,
                gender: flags.gender,
                nationality: flags.nationality,
              },
            }
          : { outcome: 'rejected', reason: flags.reason };
      const result = await client.call<{ transactionId: string; status: string; stage: string; failureReason?: string }>(
        'POST',
        `/device/v1/transactions/${encodeURIComponent(transactionId)}/proofing/sandbox`,
        body,
      );
      print(flags.json, result, `transaction ${result.transactionId}: ${result.status}${result.failureReason ? ` (${result.failureReason})` : ''}`);
    });
}

function load(file: string, server?: string): { client: DeviceClient; state: SimulatorState } {
  if (!existsSync(file)) throw new Error(`No device state at ${file}: run \`reuseid device activate\` first`);
  const state = JSON.parse(readFileSync(file, 'utf8')) as SimulatorState;
  if (server) state.serverUrl = server.replace(/\/+$/, '');
  return { client: new DeviceClient(state), state };
}

function save(file: string, state: SimulatorState): void {
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
}

function report(json: boolean, result: Record<string, unknown>, context: OperationContext | undefined, kind: 'post'): void {
  const signicatOperation = context ? decodeOperationContext(context) : undefined;
  print(
    json,
    { ...result, ...(signicatOperation ? { [`${kind}OperationContext`]: { signicatOperation } } : {}) },
    [
      ...Object.entries(result).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`),
      ...(signicatOperation ? [`signicatOperation: ${JSON.stringify(signicatOperation, null, 2)}`] : []),
    ].join('\n'),
  );
}
