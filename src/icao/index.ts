/**
 * ICAO Doc 9303 ePassport support: MRZ, LDS data groups, EF.SOD, passive and active authentication,
 * CSCA trust store and CLI commands. The server imports from here; synthetic passports are in src/testing/passports.
 */
export { IcaoFormatError, SIZE_LIMITS, type IcaoErrorCode } from './errors.js';
export { parseMrz, buildMrz, checkDigit, transliterate, toIsoCountry, type MrzFields, type MrzInput, type MrzParseResult } from './mrz.js';
export { parseCom, parseDg1, parseDg14, parseDg15, type Dg1, type Dg14, type Dg15 } from './lds.js';
export { isDg2, parseDg2Face, parseDg2Faces, type Dg2Face, type FacialRecordStandard } from './dg2.js';
export { parseSod, type Sod, type LdsSecurityObject } from './sod.js';
export { verifyActiveAuthentication, signActiveAuthentication, type ActiveAuthenticationResult } from './active-auth.js';
export { TrustStore, loadTrustStore, type ImportedItem, type MasterListInfo } from './trust-store.js';
export {
  verifyDocument,
  type VerifyDocumentInput,
  type VerificationResult,
  type Check,
  type CheckStatus,
  type Verdict,
  type DocumentData,
} from './verify.js';
export { registerIcaoCommands, type CliOutput } from './cli.js';
