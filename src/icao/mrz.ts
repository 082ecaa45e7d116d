/**
 * Machine Readable Zone (ICAO Doc 9303 Parts 3, 4, 5 and 6): parsing and building TD1 (ID card, 3×30),
 * TD2 (2×36) and TD3 (passport, 2×44).
 *
 * Parsing never throws: malformed text yields `{ ok: false, error }`, and a well-formed MRZ yields every
 * field plus a per-field check-digit verdict, so the caller can tell "unreadable" from "tampered".
 */

export type MrzFormat = 'TD1' | 'TD2' | 'TD3';
export type Sex = 'M' | 'F' | 'X';
export type CheckedField = 'documentNumber' | 'dateOfBirth' | 'dateOfExpiry' | 'optionalData' | 'composite';

export interface MrzCheck {
  field: CheckedField;
  valid: boolean;
  /** The check digit printed in the MRZ. */
  printed: string;
  /** The check digit computed from the field. */
  computed: string;
}

export interface MrzFields {
  format: MrzFormat;
  /** Document code without filler: "P", "I", "ID", "PO"… */
  documentCode: string;
  /** The code as printed (ICAO: "D" for Germany, "GBD" for a British dependent territory…). */
  issuingStateCode: string;
  /** ISO 3166-1 alpha-3 where one exists; ICAO-only codes (UTO, XXA, UNO, EUE…) are kept as they are. */
  issuingState: string;
  documentNumber: string;
  nationalityCode: string;
  nationality: string;
  lastName: string;
  firstName: string;
  /** YYYY-MM-DD, or null when the date is unknown (`<<`) or impossible. */
  dateOfBirth: string | null;
  dateOfExpiry: string | null;
  /** The six characters as printed, YYMMDD. */
  dateOfBirthRaw: string;
  dateOfExpiryRaw: string;
  sex: Sex;
  /** TD3: personal number; TD1: optional data of line 1; TD2: optional data. Filler stripped. */
  optionalData: string;
  /** TD1 only: optional data of line 2. */
  optionalData2: string;
}

export type MrzParseResult =
  | { ok: true; valid: boolean; fields: MrzFields; checks: MrzCheck[]; problems: string[]; lines: string[] }
  | { ok: false; error: { code: 'BAD_MRZ'; message: string } };

const LAYOUT: Record<MrzFormat, { lines: number; width: number }> = {
  TD1: { lines: 3, width: 30 },
  TD2: { lines: 2, width: 36 },
  TD3: { lines: 2, width: 44 },
};

const WEIGHTS = [7, 3, 1] as const;

/** Value of one MRZ character for check digits: digits as such, A–Z as 10–35, filler `<` as 0. */
function charValue(ch: string): number {
  if (ch === '<') return 0;
  const code = ch.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 90) return code - 55;
  throw new RangeError(`'${ch}' is not an MRZ character`);
}

/** The 7-3-1 check digit (Doc 9303-3 §4.9). */
export function checkDigit(text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum += charValue(text[i] as string) * (WEIGHTS[i % 3] as number);
  return sum % 10;
}

/** ICAO codes that are not ISO 3166-1 alpha-3 but name an ISO country. */
const ICAO_TO_ISO: Record<string, string> = {
  D: 'DEU',
  GBD: 'GBR',
  GBN: 'GBR',
  GBO: 'GBR',
  GBP: 'GBR',
  GBS: 'GBR',
};

/** Maps a printed state/nationality code to ISO 3166-1 alpha-3; organisation and special codes pass through. */
export function toIsoCountry(code: string): string {
  const trimmed = code.replace(/</g, '');
  return ICAO_TO_ISO[trimmed] ?? trimmed;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

/** Accepts the lines as an array, as one string with line breaks, or concatenated (as stored in DG1). */
function splitLines(input: string | readonly string[]): string[] | string {
  const text = typeof input === 'string' ? input : input.join('\n');
  const rawLines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const joined = rawLines.join('');
  const format = (Object.keys(LAYOUT) as MrzFormat[]).find((f) => LAYOUT[f].lines * LAYOUT[f].width === joined.length);
  if (!format) return `MRZ has ${joined.length} characters; expected 90 (TD1), 72 (TD2) or 88 (TD3)`;
  const { lines, width } = LAYOUT[format];
  if (rawLines.length > 1 && (rawLines.length !== lines || rawLines.some((l) => l.length !== width))) {
    return `MRZ lines do not match the ${format} layout of ${lines} × ${width}`;
  }
  if (!/^[A-Z0-9<]+$/.test(joined)) return 'MRZ contains characters other than A–Z, 0–9 and <';
  return Array.from({ length: lines }, (_, i) => joined.slice(i * width, (i + 1) * width));
}

function check(field: CheckedField, data: string, printed: string): MrzCheck {
  const computed = String(checkDigit(data));
  // An all-filler optional field may carry `<` instead of 0 as its check digit.
  const fillerOk = field === 'optionalData' && printed === '<' && /^<*$/.test(data);
  return { field, valid: printed === computed || fillerOk, printed, computed };
}

/** Name field: primary identifier, `<<`, secondary identifiers; `<` inside each part becomes a space. */
export function splitName(field: string): { lastName: string; firstName: string } {
  const cut = field.indexOf('<<');
  const clean = (s: string) => s.replace(/</g, ' ').replace(/\s+/g, ' ').trim();
  if (cut < 0) return { lastName: clean(field), firstName: '' };
  return { lastName: clean(field.slice(0, cut)), firstName: clean(field.slice(cut + 2)) };
}

/**
 * Document number, with the TD1/TD2 overflow rule: when the check digit position holds `<`, the number
 * continues in the optional data up to the next `<`, and the last character there is the check digit.
 */
function documentNumber(field9: string, cd: string, optional: string): { number: string; cd: string; rest: string } {
  if (cd === '<' && /^[A-Z0-9]/.test(optional)) {
    const end = optional.indexOf('<') < 0 ? optional.length : optional.indexOf('<');
    const extension = optional.slice(0, end);
    return { number: field9 + extension.slice(0, -1), cd: extension.slice(-1), rest: optional.slice(end) };
  }
  return { number: field9.replace(/<+$/, ''), cd, rest: optional };
}

function parseSex(ch: string, problems: string[]): Sex {
  if (ch === 'M' || ch === 'F' || ch === 'X') return ch;
  if (ch !== '<') problems.push(`sex field '${ch}' is not M, F, X or <`);
  return 'X';
}

function strip(s: string): string {
  return s.replace(/<+$/, '');
}

interface Slices {
  code: string;
  state: string;
  docField: string;
  docCd: string;
  docOptional: string;
  nationality: string;
  birth: string;
  birthCd: string;
  sex: string;
  expiry: string;
  expiryCd: string;
  optional: string;
  optionalCd?: string;
  optional2: string;
  compositeData: string;
  compositeCd: string;
  name: string;
}

/**
 * Birth date, sex and expiry date, each date with its check digit, fill the same 15 characters in every format:
 * line 2 positions 1–15 in TD1, 14–28 in TD2 and TD3. `at` is the 0-based start.
 */
function datesAndSex(line: string, at: number): Pick<Slices, 'birth' | 'birthCd' | 'sex' | 'expiry' | 'expiryCd'> {
  return {
    birth: line.slice(at, at + 6),
    birthCd: line[at + 6] ?? '',
    sex: line[at + 7] ?? '',
    expiry: line.slice(at + 8, at + 14),
    expiryCd: line[at + 14] ?? '',
  };
}

/** Cuts the fixed positions of each format (1-based positions are in the comments). */
function slice(format: MrzFormat, l: string[]): Slices {
  const [a = '', b = '', c = ''] = l;
  if (format === 'TD1') {
    return {
      code: a.slice(0, 2),
      state: a.slice(2, 5),
      docField: a.slice(5, 14),
      docCd: a[14] ?? '',
      docOptional: a.slice(15, 30),
      ...datesAndSex(b, 0),
      nationality: b.slice(15, 18),
      optional: '',
      optional2: b.slice(18, 29),
      // Composite: line 1 positions 6–30, line 2 positions 1–7, 9–15 and 19–29.
      compositeData: a.slice(5, 30) + b.slice(0, 7) + b.slice(8, 15) + b.slice(18, 29),
      compositeCd: b[29] ?? '',
      name: c,
    };
  }
  const width = LAYOUT[format].width;
  const td3 = format === 'TD3';
  return {
    code: a.slice(0, 2),
    state: a.slice(2, 5),
    name: a.slice(5, width),
    docField: b.slice(0, 9),
    docCd: b[9] ?? '',
    nationality: b.slice(10, 13),
    ...datesAndSex(b, 13),
    // TD3: personal number 29–42 with its own check digit at 43. TD2: optional data 29–35.
    docOptional: td3 ? '' : b.slice(28, width - 1),
    optional: td3 ? b.slice(28, 42) : '',
    optionalCd: td3 ? b[42] : undefined,
    optional2: '',
    // Composite: positions 1–10, 14–20 and 22–(width−1) of line 2.
    compositeData: b.slice(0, 10) + b.slice(13, 20) + b.slice(21, width - 1),
    compositeCd: b[width - 1] ?? '',
  };
}

export interface MrzParseOptions {
  /** Reference date for the century of two-digit years (default: now). */
  now?: Date;
}

export function parseMrz(input: string | readonly string[], options: MrzParseOptions = {}): MrzParseResult {
  const lines = splitLines(input);
  if (typeof lines === 'string') return { ok: false, error: { code: 'BAD_MRZ', message: lines } };
  const format = (Object.keys(LAYOUT) as MrzFormat[]).find((f) => LAYOUT[f].width === lines[0]?.length) as MrzFormat;
  const now = options.now ?? new Date();
  const s = slice(format, lines);
  const problems: string[] = [];
  const doc = documentNumber(s.docField, s.docCd, s.docOptional);
  const checks: MrzCheck[] = [
    check('documentNumber', doc.number.length > 9 ? doc.number : s.docField, doc.cd),
    check('dateOfBirth', s.birth, s.birthCd),
    check('dateOfExpiry', s.expiry, s.expiryCd),
  ];
  if (s.optionalCd !== undefined) checks.push(check('optionalData', s.optional, s.optionalCd));
  checks.push(check('composite', s.compositeData, s.compositeCd));
  const dateOfBirth = resolveBirthDate(s.birth, now);
  const dateOfExpiry = resolveExpiryDate(s.expiry, now);
  if (dateOfBirth === null && !s.birth.includes('<')) problems.push(`date of birth ${s.birth} is not a date`);
  if (dateOfExpiry === null) problems.push(`date of expiry ${s.expiry} is not a date`);
  const fields: MrzFields = {
    format,
    documentCode: strip(s.code),
    issuingStateCode: strip(s.state),
    issuingState: toIsoCountry(s.state),
    documentNumber: doc.number,
    nationalityCode: strip(s.nationality),
    nationality: toIsoCountry(s.nationality),
    ...splitName(s.name),
    dateOfBirth,
    dateOfExpiry,
    dateOfBirthRaw: s.birth,
    dateOfExpiryRaw: s.expiry,
    sex: parseSex(s.sex, problems),
    optionalData: strip(format === 'TD3' ? s.optional : doc.rest).replace(/^<+/, ''),
    optionalData2: strip(s.optional2),
  };
  const valid = checks.every((c) => c.valid) && problems.length === 0;
  return { ok: true, valid, fields, checks, problems, lines };
}

// ---------------------------------------------------------------------------------------------------------
// Dates

/** YYMMDD → [yy, mm, dd], or null if not all digits or not a calendar date (in a leap-year-agnostic way). */
function dateParts(yymmdd: string): [number, number, number] | null {
  if (!/^\d{6}$/.test(yymmdd)) return null;
  const yy = Number(yymmdd.slice(0, 2));
  const mm = Number(yymmdd.slice(2, 4));
  const dd = Number(yymmdd.slice(4, 6));
  if (mm < 1 || mm > 12 || dd < 1 || dd > 31) return null;
  return [yy, mm, dd];
}

function isoDate(year: number, mm: number, dd: number): string | null {
  const date = new Date(Date.UTC(year, mm - 1, dd));
  if (date.getUTCMonth() !== mm - 1) return null; // 31 April, 29 February of a common year…
  return date.toISOString().slice(0, 10);
}

/** Birth date: the latest century that does not put the date after `now`. */
export function resolveBirthDate(yymmdd: string, now: Date): string | null {
  const parts = dateParts(yymmdd);
  if (!parts) return null;
  const [yy, mm, dd] = parts;
  const today = now.toISOString().slice(0, 10);
  const century = Math.floor(now.getUTCFullYear() / 100) * 100;
  const candidate = isoDate(century + yy, mm, dd);
  if (candidate !== null && candidate <= today) return candidate;
  return isoDate(century - 100 + yy, mm, dd);
}

/**
 * Expiry date: the century that puts the year within 50 years either side of `now`. Documents are valid
 * for at most about ten years, so this gives 20YY today and keeps working past 2050.
 */
export function resolveExpiryDate(yymmdd: string, now: Date): string | null {
  const parts = dateParts(yymmdd);
  if (!parts) return null;
  const [yy, mm, dd] = parts;
  const nowYear = now.getUTCFullYear();
  let year = Math.floor(nowYear / 100) * 100 + yy;
  if (year >= nowYear + 50) year -= 100;
  else if (year < nowYear - 50) year += 100;
  return isoDate(year, mm, dd);
}

// ---------------------------------------------------------------------------------------------------------
// Building

/** Multi-letter transliterations of Doc 9303-3 §6 that a plain accent strip would get wrong. */
const TRANSLITERATION: Record<string, string> = {
  Ä: 'AE',
  Ö: 'OE',
  Ü: 'UE',
  ß: 'SS',
  Å: 'AA',
  Æ: 'AE',
  Ø: 'OE',
  Œ: 'OE',
  Þ: 'TH',
  Ð: 'D',
  Đ: 'D',
  Ħ: 'H',
  Ł: 'L',
  Ĳ: 'IJ',
  ẞ: 'SS',
};

/**
 * Turns free text into MRZ characters: upper case, national characters transliterated, accents removed,
 * separators (space, hyphen, comma) to `<`, apostrophes and anything else dropped.
 */
export function transliterate(text: string): string {
  let out = '';
  for (const ch of text.toUpperCase()) {
    const mapped = TRANSLITERATION[ch];
    if (mapped) out += mapped;
    else if (/[A-Z0-9<]/.test(ch)) out += ch;
    else if (/[\s\-,.]/.test(ch)) out += '<';
    else {
      // Strip combining marks: É → E, Ñ → N, Ç → C.
      const base = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
      if (/^[A-Z]+$/.test(base)) out += base;
    }
  }
  return out.replace(/<+/g, '<').replace(/^<|<$/g, '');
}

function pad(text: string, length: number): string {
  return text.length >= length ? text.slice(0, length) : text + '<'.repeat(length - text.length);
}

/** `PRIMARY<<SECONDARY<NAMES`, truncated to the field (secondary identifiers lose characters first). */
export function nameField(lastName: string, firstName: string, length: number): string {
  const primary = transliterate(lastName);
  const secondary = transliterate(firstName);
  const full = secondary ? `${primary}<<${secondary}` : primary;
  return pad(full, length);
}

export interface MrzInput {
  format: MrzFormat;
  /** "P", "I", "ID", "PO"… padded with `<` to two characters. */
  documentCode: string;
  /** Printed ICAO code: "UTO", "D", "NLD"… */
  issuingState: string;
  documentNumber: string;
  nationality: string;
  lastName: string;
  firstName: string;
  /** YYYY-MM-DD. */
  dateOfBirth: string;
  dateOfExpiry: string;
  sex: Sex;
  /** TD3 personal number, TD1 optional data 1, TD2 optional data. */
  optionalData?: string;
  /** TD1 optional data 2. */
  optionalData2?: string;
}

function yymmdd(iso: string): string {
  const m = /^\d{2}(\d{2})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) throw new RangeError(`date ${iso} is not YYYY-MM-DD`);
  return `${m[1]}${m[2]}${m[3]}`;
}

function code(value: string, length: number): string {
  const clean = value.toUpperCase().replace(/</g, '');
  if (!/^[A-Z0-9]*$/.test(clean) || clean.length > length) throw new RangeError(`code '${value}' does not fit ${length} MRZ characters`);
  return pad(clean, length);
}

/**
 * Document number and its check digit, as the characters from the number's first position on. Numbers
 * longer than nine characters (TD1/TD2) put `<` in the check digit position and continue, with their
 * check digit, at the start of the optional data.
 */
function documentNumberField(number: string, optional: string, optionalLength: number): string {
  const clean = code(number, 35).replace(/<+$/, '');
  if (clean.length <= 9) return pad(clean, 9) + checkDigit(pad(clean, 9)) + pad(optional, optionalLength);
  return `${clean.slice(0, 9)}<${pad(`${clean.slice(9)}${checkDigit(clean)}<${optional}`.replace(/<+$/, ''), optionalLength)}`;
}

/** Builds the MRZ lines. Throws RangeError for values that cannot be written (a programming error). */
export function buildMrz(input: MrzInput): string[] {
  const sex = input.sex === 'X' ? '<' : input.sex;
  const birth = yymmdd(input.dateOfBirth);
  const expiry = yymmdd(input.dateOfExpiry);
  const optional = transliterate(input.optionalData ?? '');
  const head = code(input.documentCode, 2) + code(input.issuingState, 3);
  const nationality = code(input.nationality, 3);
  if (input.format === 'TD1') {
    const line1 = head + documentNumberField(input.documentNumber, optional, 15);
    const body = `${birth}${checkDigit(birth)}${sex}${expiry}${checkDigit(expiry)}${nationality}${pad(transliterate(input.optionalData2 ?? ''), 11)}`;
    const composite = line1.slice(5, 30) + body.slice(0, 7) + body.slice(8, 15) + body.slice(18, 29);
    return [line1, body + checkDigit(composite), nameField(input.lastName, input.firstName, 30)];
  }
  const width = LAYOUT[input.format].width;
  const line1 = head + nameField(input.lastName, input.firstName, width - 5);
  let line2: string;
  if (input.format === 'TD3') {
    if (input.documentNumber.length > 9) throw new RangeError('TD3 document numbers have at most 9 characters');
    const personal = pad(optional, 14);
    const personalCd = /^<*$/.test(personal) ? '<' : String(checkDigit(personal));
    line2 = `${documentNumberField(input.documentNumber, '', 0)}${nationality}${birth}${checkDigit(birth)}${sex}${expiry}${checkDigit(expiry)}${personal}${personalCd}`;
  } else {
    const numberAndOptional = documentNumberField(input.documentNumber, optional, 7);
    line2 = `${numberAndOptional.slice(0, 10)}${nationality}${birth}${checkDigit(birth)}${sex}${expiry}${checkDigit(expiry)}${numberAndOptional.slice(10)}`;
  }
  const composite = line2.slice(0, 10) + line2.slice(13, 20) + line2.slice(21, width - 1);
  return [line1, line2 + checkDigit(composite)];
}
