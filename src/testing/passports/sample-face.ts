import type { DocumentPhoto } from './photo.js';

/**
 * A 16×16 baseline JPEG (351 bytes, made with libjpeg's cjpeg from a synthetic gradient): small enough
 * to embed, real enough for image decoders and for DG2 image extraction tests.
 */
export const SAMPLE_FACE_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABQODxIPDRQSEBIXFRQYHjIhHhwcHj0sLiQySUBMS0dARkVQWnNiUFVtVkVGZIhlbXd7gYKBTmCNl4x9lnN+gXz/2wBDARUXFx4aHjshITt8U0ZTfHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHz/wAARCAAQABADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAL/xAAdEAEAAQMFAAAAAAAAAAAAAAABAwIFEQATIrHw/8QAFAEBAAAAAAAAAAAAAAAAAAAAA//EABYRAAMAAAAAAAAAAAAAAAAAAAARIf/aAAwDAQACEQMRAD8Am22+iaLemyi8aRwJ7rS5W+iGLehyA8qVyB7vS23CiGLZmyA8agyB7vS5XCiaLZhyi8qkwJ7rQ1jRH//Z',
  'base64',
);

/** The sample face as the DG2 builder takes it (the size is that of the image above). */
export const SAMPLE_FACE_PHOTO: DocumentPhoto = { format: 'jpeg', data: SAMPLE_FACE_JPEG, width: 16, height: 16 };
