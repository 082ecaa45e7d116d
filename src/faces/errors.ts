/** An image the engine cannot read: a format it does not know, a broken file, or a size past the bounds. */
export class FaceImageError extends Error {
  override readonly name = 'FaceImageError';
}
