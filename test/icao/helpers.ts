/** Shared fixtures: CSCAs are cached per algorithm because RSA key generation dominates test time. */
import { expect } from 'vitest';
import {
  type CscaMaterial,
  type GeneratedPassport,
  type PassportAlgorithm,
  type PassportOptions,
  generateCsca,
  generatePassport,
} from '../../src/testing/passports/generator.js';
import { IcaoFormatError } from '../../src/icao/errors.js';
import { TrustStore } from '../../src/icao/trust-store.js';
import { type VerifyDocumentInput, type VerificationResult, verifyDocument } from '../../src/icao/verify.js';

const cscas = new Map<PassportAlgorithm, CscaMaterial>();

export function cscaFor(algorithm: PassportAlgorithm): CscaMaterial {
  let csca = cscas.get(algorithm);
  if (!csca) {
    csca = generateCsca({ algorithm });
    cscas.set(algorithm, csca);
  }
  return csca;
}

export function passport(options: PassportOptions = {}): GeneratedPassport {
  const algorithm = options.algorithm ?? 'ecdsa-p256';
  return generatePassport({ ...options, algorithm, csca: options.csca ?? cscaFor(algorithm) });
}

/** A store trusting the passport's CSCA (and holding its CRL, if any). */
export function storeFor(p: GeneratedPassport): TrustStore {
  const store = new TrustStore();
  store.addPem(p.cscaPem, 'csca.pem');
  if (p.crlDer) store.addCrl(p.crlDer, 'revoked.crl');
  return store;
}

export function verify(p: GeneratedPassport, extra: Partial<VerifyDocumentInput> = {}): VerificationResult {
  return verifyDocument({
    sod: p.files['EF_SOD.bin'],
    dg1: p.files['EF_DG1.bin'],
    dg2: p.files['EF_DG2.bin'],
    dg14: p.files['EF_DG14.bin'],
    dg15: p.files['EF_DG15.bin'],
    trustStore: extra.trustStore ?? storeFor(p),
    ...extra,
  });
}

/** The code of the typed error `fn` throws, or undefined when it returns; any other exception fails the test. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(IcaoFormatError);
    return (error as IcaoFormatError).code;
  }
}
