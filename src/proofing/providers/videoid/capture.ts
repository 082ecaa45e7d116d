import { z } from 'zod';
import type { ProviderOptions } from '../../../flows/transaction.js';
import { errors, type InvalidParam } from '../../../shared/errors.js';
import { parseMrz, type MrzFields } from '../../../icao/mrz.js';
import type { StagedContent } from '../../../dossier/evidence-chunks.js';
import { base64Field, base64Length, sniffImage, sniffVideo } from '../../media.js';
import { StreamedVideo } from './capture-stream.js';

/**
 * What a device uploads for VideoID review: document front (and back), a selfie, optionally a short video, the
 * document type the user chose and the MRZ the app read. JSON with base64 fields, so the whole upload is covered
 * by the device signature's body hash.
 */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const MAX_VIDEO_BYTES = 20 * 1024 * 1024;
/** Three images and a video at their limits, base64-encoded, plus room for the small fields. */
export const CAPTURE_BODY_LIMIT = 3 * base64Length(MAX_IMAGE_BYTES) + base64Length(MAX_VIDEO_BYTES) + 64 * 1024;
/** What the upload's parser holds in memory: everything but the video, which streams to sealed chunks. */
export const CAPTURE_BUFFERED_LIMIT = CAPTURE_BODY_LIMIT - base64Length(MAX_VIDEO_BYTES);

export const CaptureUpload = z.strictObject({
  docType: z.number().int().positive(),
  documentFront: base64Field(MAX_IMAGE_BYTES),
  documentBack: base64Field(MAX_IMAGE_BYTES).optional(),
  selfie: base64Field(MAX_IMAGE_BYTES),
  video: base64Field(MAX_VIDEO_BYTES).optional(),
  mrz: z
    .string()
    .max(200)
    .regex(/^[A-Z0-9<\r\n]+$/, 'must be MRZ characters (A–Z, 0–9, <) in lines')
    .optional(),
});
export type CaptureUpload = z.infer<typeof CaptureUpload>;

/**
 * The same body as the server receives it: the upload's parser streams the video to staged evidence chunks and
 * leaves a StreamedVideo in its place (see capture-stream.ts), refused with the base64 field's own words. A video
 * that is not a string is left as sent, and refused by the base64 field itself.
 */
export const ReceivedCapture = CaptureUpload.extend({
  video: z
    .unknown()
    .superRefine((value, ctx) => {
      const problem = value instanceof StreamedVideo ? value.problem : base64Field(MAX_VIDEO_BYTES).safeParse(value).error?.issues[0]?.message;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((value) => value as StreamedVideo)
    .optional(),
});
export type ReceivedCapture = z.infer<typeof ReceivedCapture>;

export type CaptureRole = 'documentFront' | 'documentBack' | 'selfie' | 'video';

const ROLES: Record<CaptureRole, { maxBytes: number; sniff: (content: Buffer) => string | null; expected: string }> = {
  documentFront: { maxBytes: MAX_IMAGE_BYTES, sniff: sniffImage, expected: 'a JPEG or PNG image' },
  documentBack: { maxBytes: MAX_IMAGE_BYTES, sniff: sniffImage, expected: 'a JPEG or PNG image' },
  selfie: { maxBytes: MAX_IMAGE_BYTES, sniff: sniffImage, expected: 'a JPEG or PNG image' },
  video: { maxBytes: MAX_VIDEO_BYTES, sniff: sniffVideo, expected: 'a WebM or MP4 video' },
};

/** An image, held whole; or the video, staged in evidence chunks (null when the request had nowhere to stage it). */
export type CaptureItem = { role: CaptureRole; mediaType: string } & ({ content: Buffer } | { staged: StagedContent | null });

/** What the MRZ says, to pre-fill the agent's form; the agent verifies it against the images. */
export interface Prefill {
  format: MrzFields['format'];
  documentCode: string;
  issuingState: string;
  firstName: string;
  lastName: string;
  dateOfBirth: string | null;
  gender: 'M' | 'F' | 'X';
  nationality: string;
  documentNumber: string;
  dateOfExpiry: string | null;
}

export interface Capture {
  docType: number;
  items: CaptureItem[];
  prefill: Prefill | null;
}

/** The document types a transaction allows: `docTypes` if given, else `docType` if given, else any (null). */
export function allowedDocTypes(options: ProviderOptions): number[] | null {
  if (options.docTypes?.length) return options.docTypes;
  if (options.docType !== undefined) return [options.docType];
  return null;
}

/** Checks everything the schema cannot: allowed document type, real content types, MRZ check digits. */
export function validateCapture(upload: ReceivedCapture, options: ProviderOptions, now: Date): Capture {
  const problems: InvalidParam[] = [];
  const allowed = allowedDocTypes(options);
  if (allowed && !allowed.includes(upload.docType))
    problems.push({ name: 'docType', reason: `not allowed for this transaction (allowed: ${allowed.join(', ')})` });
  const items = decodeItems(upload, problems);
  const prefill = upload.mrz === undefined ? null : readMrz(upload.mrz, now, problems);
  // An ID card carries its MRZ on the back: without the back the agent cannot compare what the app read.
  if (prefill?.format === 'TD1' && upload.documentBack === undefined) problems.push({ name: 'documentBack', reason: 'required for an ID card (TD1 MRZ)' });
  if (problems.length) throw errors.invalidParameters(problems);
  return { docType: upload.docType, items, prefill };
}

function decodeItems(upload: ReceivedCapture, problems: InvalidParam[]): CaptureItem[] {
  const items: CaptureItem[] = [];
  for (const [role, rule] of Object.entries(ROLES) as [CaptureRole, (typeof ROLES)[CaptureRole]][]) {
    const value = upload[role];
    if (value === undefined) continue;
    const { size, head, stored } = value instanceof StreamedVideo ? streamed(value) : held(value);
    const mediaType = rule.sniff(head);
    if (size > rule.maxBytes) problems.push({ name: role, reason: `must be at most ${rule.maxBytes} bytes` });
    else if (!mediaType) problems.push({ name: role, reason: `must be ${rule.expected}` });
    else items.push({ role, mediaType, ...stored });
  }
  return items;
}

/** An item sent whole, decoded here. */
function held(text: string) {
  const content = Buffer.from(text, 'base64');
  return { size: content.length, head: content, stored: { content } };
}

/** The video, decoded as it streamed in: its size and first bytes are known, its content staged. */
const streamed = (video: StreamedVideo) => ({ size: video.size, head: video.head, stored: { staged: video.staged } });

function readMrz(text: string, now: Date, problems: InvalidParam[]): Prefill | null {
  const parsed = parseMrz(text, { now });
  if (!parsed.ok) {
    problems.push({ name: 'mrz', reason: parsed.error.message });
    return null;
  }
  const failed = parsed.checks.filter((c) => !c.valid).map((c) => c.field);
  if (failed.length) problems.push({ name: 'mrz', reason: `check digit mismatch: ${failed.join(', ')}` });
  else if (!parsed.valid) problems.push({ name: 'mrz', reason: parsed.problems.join('; ') });
  const f = parsed.fields;
  return {
    format: f.format,
    documentCode: f.documentCode,
    issuingState: f.issuingState,
    firstName: f.firstName,
    lastName: f.lastName,
    dateOfBirth: f.dateOfBirth,
    gender: f.sex,
    nationality: f.nationality,
    documentNumber: f.documentNumber,
    dateOfExpiry: f.dateOfExpiry,
  };
}
