import type { Keyring } from '../security/keyring.js';
import type { RandomSource } from '../shared/runtime.js';

/**
 * Activation codes: decimal digits (10 by default, as in the seed), shown once to the RP and stored only as a keyed
 * hash. Their strength against guessing comes from the bound on failed activations (see activation.ts), which
 * holds across transactions, connections and instances; operators who want a wider margin lengthen the code.
 */
const PURPOSE = 'activation-code';

export function newActivationCode(random: RandomSource, length: number): string {
  return random.digits(length);
}

/** What users type: spaces and dashes are ignored. */
export function normalizeActivationCode(code: string): string {
  return code.replace(/[\s-]/g, '');
}

export function hashActivationCode(keyring: Keyring, code: string): string {
  return keyring.keyedHash(PURPOSE, normalizeActivationCode(code));
}
