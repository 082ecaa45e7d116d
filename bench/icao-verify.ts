/**
 * Passive authentication throughput next to the raw signature verification it is built on.
 *
 *   npx tsx bench/icao-verify.ts
 *
 * For each DS algorithm: full `verifyDocument` runs per second (SOD parse, DS certificate, signed
 * attributes, DG hashes, chain with cached CSCA signature checks, DG1 parse) against `crypto.verify`
 * per second over the same signed attributes with the same DS key, and their ratio. Prints only.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { generatePassport, type PassportAlgorithm } from '../src/testing/passports/generator.js';
import { parseSod } from '../src/icao/sod.js';
import { TrustStore } from '../src/icao/trust-store.js';
import { verifyDocument } from '../src/icao/verify.js';

const SECONDS_PER_MEASUREMENT = 1;

/** Calls `fn` repeatedly for about `seconds` and returns calls per second. */
function opsPerSecond(fn: () => void, seconds = SECONDS_PER_MEASUREMENT): number {
  for (let i = 0; i < 20; i++) fn(); // warm-up: JIT, caches
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 10; i++) fn();
    count += 10;
  }
  return count / ((performance.now() - start) / 1000);
}

function bench(algorithm: PassportAlgorithm): void {
  const passport = generatePassport({ algorithm, aaKey: 'none' });
  const store = new TrustStore();
  store.addPem(passport.cscaPem);
  const input = { sod: passport.files['EF_SOD.bin'], dg1: passport.files['EF_DG1.bin'], dg2: passport.files['EF_DG2.bin'], trustStore: store };
  const check = verifyDocument(input);
  if (check.verdict !== 'accepted') throw new Error(`${algorithm}: baseline not accepted: ${check.reasons.join('; ')}`);

  const sod = parseSod(passport.files['EF_SOD.bin']);
  const key = sod.dsCertificate!.publicKey;
  const signedAttributes = sod.signer.signedAttributes!.der;
  const signature = sod.signer.signature;
  const hash = check.algorithms.signerDigest!;
  const options = check.algorithms.sodSignature?.startsWith('rsassa-pss') ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 } : { key };
  if (!cryptoVerify(hash, signedAttributes, options, signature)) throw new Error(`${algorithm}: raw verify failed`);

  const pa = opsPerSecond(() => verifyDocument(input));
  const raw = opsPerSecond(() => cryptoVerify(hash, signedAttributes, options, signature));
  const ratio = pa / raw;
  console.log(
    `${algorithm.padEnd(15)} PA ${pa.toFixed(0).padStart(7)}/s   raw crypto.verify ${raw.toFixed(0).padStart(7)}/s   ratio ${ratio.toFixed(2)}${ratio >= 0.5 ? '' : '  (below 0.5)'}`,
  );
}

console.log(`node ${process.version}, ${SECONDS_PER_MEASUREMENT}s per measurement`);
for (const algorithm of ['ecdsa-p256', 'brainpool-p256', 'ecdsa-p384', 'rsa-pss', 'rsa-pkcs1'] as const) bench(algorithm);
