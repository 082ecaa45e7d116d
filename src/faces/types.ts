/**
 * The face-matching contract the rest of the server codes against. The engine behind it (models, worker threads,
 * image decoding) lives in this folder; providers and the identity store see only these types.
 *
 * Scores are similarities: higher means more alike, and `match` is `score >= threshold`, both in the same units.
 */

/** Why an image gave no usable face. */
export type FaceQualityFlag = 'no_face' | 'several_faces' | 'face_too_small' | 'unreadable_image';

/** The face found in one image, or why none was usable. */
export interface FaceQuality {
  /** Faces the detector found. */
  faces: number;
  /** Width of the chosen face's box, in pixels of the decoded image. */
  faceWidth?: number;
  flags: FaceQualityFlag[];
  /** Asked for on probes (selfies): advisory scores, see PresentationScores. */
  presentation?: PresentationScores;
}

/**
 * Advisory presentation-attack scores of an image's largest face, from 0 to 1 (higher: more likely a real, live
 * face). Recorded for reviewers; they decide nothing and are not certified presentation attack detection.
 */
export interface PresentationScores {
  model: string;
  /** A real face rather than a photo or a screen of one. */
  antispoof: number;
  liveness: number;
}

/** A face embedding, as the model computed it. Biometric data: sealed with the user's key whenever it is stored. */
export interface FaceTemplate {
  /** The model that computed it: templates of different models are never compared. */
  model: string;
  descriptor: number[];
}

/** What was decided for one reference and one probe: recorded as it is in the evidence. */
export interface FaceComparison {
  /** Model name and version, and the SHA-256 of its weights. */
  model: string;
  modelHash: string;
  threshold: number;
  /** Absent when either side had no usable face. */
  score?: number;
  decision: 'match' | 'mismatch' | 'unusable';
  reference: FaceQuality;
  probe: FaceQuality;
}

/** The face of one image; `jpeg` is the image itself as JPEG, when asked for. */
export type TemplateResult = ({ template: FaceTemplate; quality: FaceQuality } | { template?: undefined; quality: FaceQuality }) & { jpeg?: Buffer };

export interface TemplateOptions {
  /** Score the face for presentation attacks too (advisory; for probes such as selfies). */
  presentation?: boolean;
  /** Return the decoded image as JPEG (a JPEG 2000 chip photo, to show it in a browser). */
  jpeg?: boolean;
}

/**
 * Face matching, off the event loop. Images may be JPEG, PNG or JPEG 2000. Every call is bounded in time; a call
 * made while the queue is full is refused with the `face_matcher_busy` error (503, Retry-After).
 */
export interface FaceMatcher {
  readonly model: string;
  readonly threshold: number;
  /** The single face's template of an image (a document photo, a selfie); with advisory presentation scores on request. */
  template(image: Uint8Array, options?: TemplateOptions): Promise<TemplateResult>;
  /** Compares a reference (an image, or a stored template) with a probe image (scored for presentation attacks too). */
  compare(reference: Uint8Array | FaceTemplate, probe: Uint8Array): Promise<FaceComparison>;
  /** Compares templates already computed: one probe against several references costs one extraction. */
  compareTemplates(reference: TemplateResult, probe: TemplateResult): Promise<FaceComparison>;
}
