import type { PresentationFrame } from '@sd-jwt/types';
import { WalletError } from './errors.js';
import { ALG, es256Signer } from './keys.js';
import { sdJwtVc } from './sd-jwt.js';
import { readState, type StoredCredential } from './state.js';

/**
 * A presentation (SD-JWT VC §4, SD-JWT §4.3): the issuer-signed JWT, only the disclosures the holder chose, and a
 * key-binding JWT signed with the holder key over the verifier's audience and nonce (the library adds `sd_hash`, the
 * digest of what is presented, so that no disclosure can be added or removed afterwards).
 */
export interface PresentOptions {
  statePath: string;
  /** Claim names; `a.b` is the nested claim `b` of `a`, and `a` alone discloses `a` with everything below it. */
  disclose: string[];
  audience: string;
  nonce: string;
  now?: () => number;
}

export interface Presentation {
  presentation: string;
  /** Every claim path disclosed, the named ones and those below them. */
  disclosed: string[];
  audience: string;
  nonce: string;
}

export async function present(options: PresentOptions): Promise<Presentation> {
  if (!options.audience) throw new WalletError('invalid_argument', 'A presentation needs an audience (the verifier)');
  if (!options.nonce) throw new WalletError('invalid_argument', 'A presentation needs the verifier’s nonce');
  const state = await readState(options.statePath);
  if (!state) throw new WalletError('invalid_state', `No wallet state at ${options.statePath}: run \`reuseid wallet receive\` first`);
  const held = latest(state.credentials, options.statePath);
  const now = options.now ?? Date.now;
  const instance = sdJwtVc({ kbSigner: es256Signer(state.holderKey), kbSignAlg: ALG });
  const disclosed = selectClaims(await instance.presentableKeys(held.credential), options.disclose);
  const presentation = await instance.present(held.credential, presentationFrame(disclosed), {
    kb: { payload: { aud: options.audience, nonce: options.nonce, iat: Math.floor(now() / 1000) } },
  });
  return { presentation, disclosed, audience: options.audience, nonce: options.nonce };
}

/** The most recently received credential: a new one replaces an older one of the same person. */
function latest(credentials: StoredCredential[], statePath: string): StoredCredential {
  const held = credentials.at(-1);
  if (!held) throw new WalletError('no_credential', `The wallet at ${statePath} holds no credential: run \`reuseid wallet receive\` first`);
  return held;
}

/**
 * The paths to disclose: each requested name must be a disclosable claim, or the parent of some (`age_equal_or_over`
 * stands for `age_equal_or_over.18` and `.21`). Anything else is refused with the list of names there are, rather
 * than silently presenting less than was asked.
 */
export function selectClaims(presentable: string[], requested: string[]): string[] {
  const available = new Set(presentable.flatMap((path) => path.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
  const names = requested.map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !available.has(name));
  if (unknown.length > 0)
    throw new WalletError(
      'unknown_claim',
      `No disclosable claim ${unknown.map((n) => JSON.stringify(n)).join(', ')}; this credential has: ${[...available].sort().join(', ')}`,
    );
  return presentable.filter((path) => names.some((name) => path === name || path.startsWith(`${name}.`))).sort();
}

/** `['given_name', 'age_equal_or_over.18']` → `{given_name: true, age_equal_or_over: {18: true}}`, as the library takes it. */
function presentationFrame(paths: string[]): PresentationFrame<Record<string, unknown>> {
  // Without a prototype, so that a claim named __proto__ is a claim like any other.
  const frame = Object.create(null) as Record<string, unknown>;
  for (const path of paths) {
    const parts = path.split('.');
    let node = frame;
    const leaf = parts.pop()!;
    for (const part of parts) {
      if (typeof node[part] !== 'object') node[part] = Object.create(null);
      node = node[part] as Record<string, unknown>;
    }
    node[leaf] ??= true;
  }
  return frame as PresentationFrame<Record<string, unknown>>;
}
