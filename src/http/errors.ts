import { z } from 'zod';
import type { ApiError, InvalidParam } from '../shared/errors.js';

/**
 * The wire form of errors: an ApiError (src/shared/errors.ts) is served as the Signicat error object (contract §4).
 * Nothing else reaches the wire: no stack traces, no SQL, no other tenant's data.
 */

/** Each code names its own error type; the catalogue is in src/shared/errors.ts and docs/errors.md. */
export const errorTypeUri = (code: string) => `urn:reuseid:error:${code}`;

export interface ErrorObject {
  type: string;
  title: string;
  code: string;
  status: number;
  traceId: string;
  detail: string;
  invalidParams?: InvalidParam[];
}

export function toErrorObject(error: ApiError, traceId: string): ErrorObject {
  return {
    type: errorTypeUri(error.code),
    title: error.title,
    code: error.code,
    status: error.status,
    traceId,
    detail: error.detail,
    ...(error.invalidParams ? { invalidParams: error.invalidParams } : {}),
  };
}

/** The error object as a schema, for the OpenAPI document. */
export const ErrorObjectSchema = z.object({
  type: z.string(),
  title: z.string(),
  code: z.string(),
  status: z.number(),
  traceId: z.string(),
  detail: z.string(),
  invalidParams: z.array(z.object({ name: z.string(), reason: z.string() })).optional(),
});

/** The error answers of a device's evidence upload (a signed request with a large body), for the OpenAPI document. */
export const uploadErrorResponses = {
  401: ErrorObjectSchema,
  404: ErrorObjectSchema,
  409: ErrorObjectSchema,
  413: ErrorObjectSchema,
  422: ErrorObjectSchema,
};
