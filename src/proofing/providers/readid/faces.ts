import { IMAGE_MEDIA_TYPES } from '../../../faces/image-format.js';
import type { FaceMatcher, FaceTemplate, TemplateResult } from '../../../faces/types.js';
import { IcaoFormatError } from '../../../icao/index.js';
import { parseDg2Face } from '../../../icao/dg2.js';
import type { ReferenceFace } from '../../../identity/reference-faces.js';
import { compareSelfie, type FaceEvidence } from '../../faces.js';
import type { Selfie } from './upload.js';

/** The chip photo's template, kept to become the user's reference face if the proofing completes. */
export interface ChipPortrait {
  template: FaceTemplate;
  photo: { mediaType: string; content: Buffer };
}

/**
 * Compares the selfie with the chip's photo, and on a step-up with the enrolled reference face. Each image's template
 * is computed once, in the face workers; nothing here touches the database inside a transaction.
 *
 * The DG2 was verified against the SOD before this runs, so its photo is the issuer's. A DG2 this server cannot read
 * is reported as an unusable reference (the issuer signed it: another attempt would not change it).
 */
export async function compareWithChip(
  faces: FaceMatcher,
  dg2: Buffer,
  selfie: Selfie,
  enrolled: ReferenceFace | null,
): Promise<{ evidence: FaceEvidence; portrait?: ChipPortrait }> {
  const face = readChipFace(dg2);
  // Browsers do not display JPEG 2000: the reference photo is kept as a JPEG the worker renders from the decoded image.
  const displayable = face?.mediaType === 'image/jpeg' || face?.mediaType === 'image/png';
  const chipFace = face ? faces.template(face.image, { jpeg: !displayable }) : unreadable();
  const { evidence, documentFace } = await compareSelfie(faces, chipFace, selfie.content, enrolled);
  const photo = displayable ? { mediaType: face.mediaType, content: face.image } : documentFace.jpeg && { mediaType: 'image/jpeg', content: documentFace.jpeg };
  const portrait = documentFace.template && photo ? { template: documentFace.template, photo } : undefined;
  return { evidence, portrait };
}

function readChipFace(dg2: Buffer): { image: Buffer; mediaType: string } | null {
  try {
    const face = parseDg2Face(dg2);
    return { image: face.image, mediaType: IMAGE_MEDIA_TYPES[face.format] };
  } catch (error) {
    if (error instanceof IcaoFormatError) return null;
    throw error;
  }
}

const unreadable = async (): Promise<TemplateResult> => ({ quality: { faces: 0, flags: ['unreadable_image'] } });
