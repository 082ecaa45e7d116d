import type { AssuranceLevel, VerificationSummary } from '../proofing/assurance.js';

/**
 * The claims of the identity credential, from the user's verified attributes and the proofing that verified them.
 * Names follow the SD-JWT VC and EUDI PID conventions where one exists (`given_name`, `family_name`, `birthdate`,
 * `nationalities`, `sex` as ISO/IEC 5218, `age_equal_or_over`). Nationalities and the issuing country are the ICAO
 * 9303 codes as read from the document (three letters, or one for Germany, `D`), not converted.
 */
export interface IdentityClaims {
  given_name: string;
  family_name: string;
  birthdate: string;
  nationalities: string[];
  sex: number;
  age_equal_or_over: { '18': boolean; '21': boolean };
  document_type?: string;
  document_issuing_country?: string;
  document_expiry_date?: string;
  assurance_level: AssuranceLevel;
  verification_method: {
    document: VerificationSummary['document'];
    clone_detection: VerificationSummary['cloneDetection'];
    face_match: boolean;
    reviewed_by_agent: boolean;
  };
}

/** Every claim is selectively disclosable, and each age threshold on its own inside `age_equal_or_over`. */
export const IDENTITY_DISCLOSURE_FRAME: { _sd: (keyof IdentityClaims)[]; age_equal_or_over: { _sd: ('18' | '21')[] } } = {
  _sd: [
    'given_name',
    'family_name',
    'birthdate',
    'nationalities',
    'sex',
    'age_equal_or_over',
    'document_type',
    'document_issuing_country',
    'document_expiry_date',
    'assurance_level',
    'verification_method',
  ],
  age_equal_or_over: { _sd: ['18', '21'] },
};

/** ISO/IEC 5218: 1 male, 2 female, 0 not known; an ICAO `X` (unspecified) states nothing more. */
const SEX_CODES: Record<string, number> = { M: 1, F: 2, X: 0 };

export function identityClaims(
  attributes: Record<string, string>,
  assurance: { level: AssuranceLevel; verification: VerificationSummary },
  today: string,
): IdentityClaims {
  const birthdate = attributes.dateOfBirth!;
  const age = ageOn(birthdate, today);
  const verification = assurance.verification;
  return {
    given_name: attributes.firstName!,
    family_name: attributes.lastName!,
    birthdate,
    nationalities: [attributes.nationality!],
    sex: SEX_CODES[attributes.gender ?? 'X'] ?? 0,
    age_equal_or_over: { '18': age >= 18, '21': age >= 21 },
    ...(attributes.documentType ? { document_type: attributes.documentType } : {}),
    ...(attributes.issuingState ? { document_issuing_country: attributes.issuingState } : {}),
    ...(attributes.dateOfExpiry ? { document_expiry_date: attributes.dateOfExpiry } : {}),
    assurance_level: assurance.level,
    verification_method: {
      document: verification.document,
      clone_detection: verification.cloneDetection,
      face_match: verification.faceMatch?.match === true,
      reviewed_by_agent: verification.reviewedByAgent,
    },
  };
}

/** Whole years between two YYYY-MM-DD dates; someone born on 29 February comes of age on 1 March in common years. */
export function ageOn(birthdate: string, today: string): number {
  const [by, bm, bd] = birthdate.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
  const hadBirthday = tm > bm || (tm === bm && td >= bd);
  return ty - by - (hadBirthday ? 0 : 1);
}
