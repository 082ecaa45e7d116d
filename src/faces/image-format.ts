/** Image formats by their signature: what a file is, whatever a header around it claims. No dependencies, so the ICAO parsers can use it. */
export type ImageFormat = 'jpeg' | 'png' | 'jp2' | 'j2k';

const SIGNATURES: Array<[ImageFormat, number[]]> = [
  ['jpeg', [0xff, 0xd8, 0xff]],
  ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['jp2', [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]],
  ['j2k', [0xff, 0x4f, 0xff, 0x51]],
];

export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  return SIGNATURES.find(([, signature]) => signature.every((b, i) => bytes[i] === b))?.[0];
}

/** The media type each format is stored and served as (`image/j2c`: a raw JPEG 2000 codestream, without the JP2 box). */
export const IMAGE_MEDIA_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  jp2: 'image/jp2',
  j2k: 'image/j2c',
};
