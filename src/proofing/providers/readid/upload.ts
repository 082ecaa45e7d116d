import { z } from 'zod';
import { errors } from '../../../shared/errors.js';
import { IcaoFormatError, parseSod, SIZE_LIMITS } from '../../../icao/index.js';
import { base64Field, base64Length, type ImageType, sniffImage } from '../../media.js';
import { CHALLENGE_BYTES } from './challenges.js';

/**
 * What a device uploads after reading the chip: the raw LDS files, base64 in JSON so that the device signature's
 * body hash covers them, the chip's answer to the server's Active Authentication challenge, and optionally a selfie
 * to compare with the chip's photo. The server re-derives everything from these bytes; it accepts no field the app
 * parsed itself.
 */
const FILES = ['sod', 'dg1', 'dg2', 'dg14', 'dg15', 'com'] as const;
export type ChipFile = (typeof FILES)[number];
export const FILE_LIMITS = Object.fromEntries(FILES.map((file) => [file, SIZE_LIMITS[file]])) as Record<ChipFile, number>;

/** RSA AA signatures are as long as the modulus (up to 4096 bits in practice), ECDSA r‖s far shorter. */
const MAX_SIGNATURE_BYTES = 1024;
/**
 * A face comparison needs a face of a few hundred pixels, not a full-resolution camera frame: 2 MiB holds a phone
 * JPEG of several megapixels, and bounds what an upload can make the face engine decode.
 */
export const MAX_SELFIE_BYTES = 2 * 1024 * 1024;
/** Every file, the signature and the selfie at their limits, base64-encoded, plus room for the JSON around them. */
export const UPLOAD_BODY_LIMIT =
  FILES.reduce((sum, file) => sum + base64Length(SIZE_LIMITS[file]), base64Length(MAX_SIGNATURE_BYTES) + base64Length(MAX_SELFIE_BYTES)) + 16 * 1024;

export const ReadIdUpload = z.strictObject({
  sod: base64Field(SIZE_LIMITS.sod),
  dg1: base64Field(SIZE_LIMITS.dg1),
  dg2: base64Field(SIZE_LIMITS.dg2).optional(),
  dg14: base64Field(SIZE_LIMITS.dg14).optional(),
  dg15: base64Field(SIZE_LIMITS.dg15).optional(),
  com: base64Field(SIZE_LIMITS.com).optional(),
  activeAuthentication: z
    .strictObject({
      challenge: z.string().regex(new RegExp(`^[0-9a-fA-F]{${CHALLENGE_BYTES * 2}}$`), `must be the ${CHALLENGE_BYTES}-byte challenge as hex`),
      signature: base64Field(MAX_SIGNATURE_BYTES),
    })
    .optional(),
  selfie: base64Field(MAX_SELFIE_BYTES).optional(),
});
export type ReadIdUpload = z.infer<typeof ReadIdUpload>;

export type ChipFiles = { sod: Buffer; dg1: Buffer } & Partial<Record<Exclude<ChipFile, 'sod' | 'dg1'>, Buffer>>;

/** Decodes the files; the schema bounds the text, this bounds the bytes (base64 length rounds up). */
export function decodeFiles(upload: ReadIdUpload): ChipFiles {
  const files = decodeEach(upload);
  requireListedDg15(files);
  return files;
}

function decodeEach(upload: ReadIdUpload): ChipFiles {
  const files: Partial<Record<ChipFile, Buffer>> = {};
  const problems = [];
  for (const name of FILES) {
    const text = upload[name];
    if (text === undefined) continue;
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length > SIZE_LIMITS[name]) problems.push({ name, reason: `must be at most ${SIZE_LIMITS[name]} bytes` });
    else files[name] = bytes;
  }
  if (problems.length) throw errors.invalidParameters(problems);
  return files as ChipFiles;
}

/**
 * A document without DG15 has no Active Authentication, so its verdict can be `accepted` without clone detection.
 * The SOD lists every data group on the chip: a dump that leaves out a DG15 the SOD lists is dodging the challenge.
 */
function requireListedDg15(files: ChipFiles): void {
  if (files.dg15) return;
  let listed: boolean;
  try {
    listed = parseSod(files.sod).lds.dataGroupHashes.has(15);
  } catch (error) {
    if (error instanceof IcaoFormatError) return; // verifyDocument reports the unreadable SOD
    throw error;
  }
  if (listed) throw errors.invalidParameters([{ name: 'dg15', reason: "the SOD lists DG15: upload it, with the chip's answer to the challenge" }]);
}

/** The selfie as uploaded, with the media type its magic bytes show. Biometric data: stored only sealed. */
export interface Selfie {
  mediaType: ImageType;
  content: Buffer;
}

/** Decodes the selfie, if any, and refuses what is not a JPEG or PNG before anything is verified or recorded. */
export function decodeSelfie(upload: ReadIdUpload): Selfie | undefined {
  if (upload.selfie === undefined) return undefined;
  const content = Buffer.from(upload.selfie, 'base64');
  if (content.length > MAX_SELFIE_BYTES) throw errors.invalidParameters([{ name: 'selfie', reason: `must be at most ${MAX_SELFIE_BYTES} bytes` }]);
  const mediaType = sniffImage(content);
  if (!mediaType) throw errors.invalidParameters([{ name: 'selfie', reason: 'must be a JPEG or PNG image' }]);
  return { mediaType, content };
}

/**
 * What the face comparison needs, refused before any verification: the selfie when the operator requires one, and
 * with a selfie the chip's DG2 (ICAO 9303 makes it mandatory on every chip: an app that leaves it out hides the photo).
 */
export function requireFaceImages(files: ChipFiles, selfie: Selfie | undefined, policy: 'required' | 'optional'): void {
  if (!selfie && policy === 'required') {
    throw errors.invalidParameters([{ name: 'selfie', reason: "required: the user's photo, to compare with the chip's" }]);
  }
  if (selfie && !files.dg2) throw errors.invalidParameters([{ name: 'dg2', reason: "required with a selfie: the chip's photo to compare it with" }]);
}

/** verifyDocument names files as ICAO does; the device knows them by their upload field. */
export const UPLOAD_FIELD: Record<string, ChipFile> = { 'EF.SOD': 'sod', DG1: 'dg1', DG2: 'dg2', DG14: 'dg14', DG15: 'dg15', 'EF.COM': 'com' };
