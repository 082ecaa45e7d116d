import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { CliError } from '../../cli/errors.js';
import { print } from '../../cli/options.js';
import { WalletError } from './errors.js';
import { present } from './present.js';
import { receive } from './receive.js';
import { verify } from './verify.js';

/**
 * `reuseid wallet`: a holder's wallet for the credential this server issues (OpenID4VCI pre-authorized code flow,
 * SD-JWT VC), and an independent verifier for what it presents, so that the whole path runs without a phone or an RP.
 * Failures are `wallet.CODE` (the issuer's own OAuth codes kept: `wallet.invalid_grant`, `wallet.invalid_proof`…).
 */
const DEFAULT_AUDIENCE = 'https://verifier.example';

export function registerWalletCommands(program: Command): void {
  const wallet = program.command('wallet').description('Wallet simulator: receive an SD-JWT VC over OpenID4VCI, present it, verify a presentation');

  wallet
    .command('receive')
    .description('Redeem a credential offer (pre-authorized code) and store the credential')
    .requiredOption('--offer <uri>', 'the openid-credential-offer:// URI')
    .option('--tx-code <code>', 'the transaction code (PIN) shown with the offer')
    .requiredOption('--state <file>', 'the wallet state file (created 0600; its holder key is reused)')
    .option('--json', 'machine-readable output')
    .action(
      walletAction(async (flags: { offer: string; txCode?: string; state: string; json?: boolean }) => {
        const summary = await receive({ offerUri: flags.offer, txCode: flags.txCode, statePath: flags.state });
        print(
          flags.json === true,
          summary,
          [
            `received ${summary.configurationId} from ${summary.issuer}`,
            `vct: ${summary.vct}`,
            `expires: ${summary.expiresAt ?? 'never'}`,
            ...Object.entries(summary.claims).map(([name, value]) => `${name}: ${JSON.stringify(value)}`),
          ].join('\n'),
        );
      }),
    );

  wallet
    .command('present')
    .description('Present the latest credential, disclosing only the named claims, with a key-binding JWT')
    .requiredOption('--state <file>', 'the wallet state file')
    .requiredOption('--disclose <claims>', 'comma-separated claim names; a.b names a nested claim (age_equal_or_over.18)')
    .option('--audience <url>', 'the verifier the presentation is for', DEFAULT_AUDIENCE)
    .option('--nonce <nonce>', 'the verifier’s nonce (default: a random one, printed with --json)')
    .option('--json', 'print {presentation, disclosed, audience, nonce} instead of the bare presentation')
    .action(
      walletAction(async (flags: { state: string; disclose: string; audience: string; nonce?: string; json?: boolean }) => {
        const disclose = flags.disclose.split(',');
        const nonce: string = flags.nonce ?? randomBytes(16).toString('base64url');
        const result = await present({ statePath: flags.state, disclose, audience: flags.audience, nonce });
        print(flags.json === true, result, result.presentation);
      }),
    );

  wallet
    .command('verify')
    .description('Verify a presentation as an independent verifier (issuer key from jwt-vc-issuer, status list, key binding)')
    .requiredOption('--presentation <sd-jwt>', 'the presentation, or - to read it from standard input')
    .requiredOption('--audience <url>', 'the audience the presentation must be for')
    .requiredOption('--nonce <nonce>', 'the nonce the presentation must carry')
    .option('--issuer <url>', 'accept only credentials from this issuer')
    .option('--json', 'machine-readable output')
    .action(
      walletAction(async (flags: { presentation: string; audience: string; nonce: string; issuer?: string; json?: boolean }) => {
        const presentation = flags.presentation === '-' ? await readStdin() : flags.presentation;
        const result = await verify({ presentation, audience: flags.audience, nonce: flags.nonce, issuerUrl: flags.issuer });
        print(
          flags.json === true,
          result,
          [
            `valid: issued by ${result.issuer} (${result.vct}), status ${result.status ? `${result.status.state} at ${result.status.uri}#${result.status.idx}` : 'none'}`,
            ...Object.entries(result.claims).map(([name, value]) => `${name}: ${JSON.stringify(value)}`),
          ].join('\n'),
        );
      }),
    );
}

/** The wallet's refusals reach the command line as `wallet.CODE`, so that `--json` callers can branch on them. */
function walletAction<Flags>(action: (flags: Flags) => Promise<void>): (flags: Flags) => Promise<void> {
  return async (flags) => {
    try {
      await action(flags);
    } catch (error) {
      if (error instanceof WalletError) throw new CliError(`wallet.${error.code}`, error.message);
      throw error;
    }
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
