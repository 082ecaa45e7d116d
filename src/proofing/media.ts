/**
 * What providers' device uploads share: binary content as base64 fields of a JSON body (so the device signature's
 * body hash covers it), and content type detection by magic bytes. What a device declares is never trusted: the
 * stored media type (and so the Content-Type the console later serves) comes only from these signatures.
 */
import { z } from 'zod';

export type ImageType = 'image/jpeg' | 'image/png';
export type VideoType = 'video/webm' | 'video/mp4';

const startsWith = (content: Buffer, signature: number[], offset = 0) =>
  content.length >= offset + signature.length && signature.every((byte, i) => content[offset + i] === byte);

export function sniffImage(content: Buffer): ImageType | null {
  if (startsWith(content, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(content, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  return null;
}

export function sniffVideo(content: Buffer): VideoType | null {
  // WebM is an EBML document whose DocType is "webm"; the DocType element sits within the first few dozen bytes.
  if (startsWith(content, [0x1a, 0x45, 0xdf, 0xa3]) && content.subarray(0, 64).includes('webm')) return 'video/webm';
  // ISO base media (MP4): a box of type "ftyp" first.
  if (startsWith(content, [0x66, 0x74, 0x79, 0x70], 4)) return 'video/mp4';
  return null;
}

export const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4;

/** Why a base64 field is refused, shared with the streamed upload's checks (videoid/capture-stream.ts). */
export const tooLarge = (maxBytes: number) => `must be at most ${maxBytes} bytes`;
export const NOT_BASE64 = 'must be base64';

/** A base64 field of at most `maxBytes` decoded bytes; base64 rounds up, so decoders check the exact size again. */
export const base64Field = (maxBytes: number) =>
  z
    .string()
    .min(4)
    .max(base64Length(maxBytes), tooLarge(maxBytes))
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, NOT_BASE64);
