/**
 * Typed failures for everything that reads bytes from outside: data groups, EF.SOD, certificates,
 * master lists, CRLs and MRZ text. Parsers throw only `IcaoFormatError`; callers branch on `code`.
 */

export type IcaoErrorCode =
  | 'EMPTY_INPUT'
  | 'TOO_LARGE'
  | 'TRUNCATED'
  | 'BAD_TAG'
  | 'BAD_LENGTH'
  | 'TRAILING_BYTES'
  | 'TOO_DEEP'
  | 'UNEXPECTED_TAG'
  | 'BAD_ASN1'
  | 'BAD_STRUCTURE'
  | 'UNSUPPORTED_ALGORITHM'
  | 'BAD_MRZ'
  | 'BAD_CERTIFICATE'
  | 'BAD_KEY'
  | 'BAD_MASTER_LIST'
  | 'BAD_CRL'
  | 'UNREADABLE_FILE'
  | 'UNKNOWN_FILE_TYPE';

export class IcaoFormatError extends Error {
  override readonly name = 'IcaoFormatError';
  constructor(
    readonly code: IcaoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Upper bounds on what we accept per file, so a hostile upload cannot make us parse megabytes of ASN.1. */
export const SIZE_LIMITS = {
  sod: 64 * 1024,
  dg1: 1024,
  dg2: 2 * 1024 * 1024,
  dg14: 16 * 1024,
  dg15: 16 * 1024,
  com: 1024,
  certificate: 64 * 1024,
  masterList: 16 * 1024 * 1024,
  crl: 16 * 1024 * 1024,
} as const;

/** Rejects empty and over-long inputs before any parsing starts. */
export function checkSize(bytes: Uint8Array, max: number, what: string): void {
  if (bytes.length === 0) throw new IcaoFormatError('EMPTY_INPUT', `${what} is empty`);
  if (bytes.length > max) {
    throw new IcaoFormatError('TOO_LARGE', `${what} is ${bytes.length} bytes; the limit is ${max}`);
  }
}

/**
 * Runs a parser over untrusted bytes and turns anything it throws into an `IcaoFormatError`.
 * pkijs and asn1js throw plain `Error`s (and occasionally `TypeError`s) on malformed input.
 */
export function guard<T>(code: IcaoErrorCode, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof IcaoFormatError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new IcaoFormatError(code, `${what}: ${detail}`);
  }
}
