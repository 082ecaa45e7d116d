import { errors } from '../shared/errors.js';
import { ReasonSchema, type Reason } from '../proofing/providers/videoid/cases.js';
import type { FieldName, FieldValues } from './pages.js';

/** A url-encoded form as @fastify/formbody parses it: repeated names become arrays, which no console form sends. */
export type Form = Record<string, string | string[] | undefined>;

/** A single-valued field, or '' when it is missing or repeated. */
export function field(form: Form | undefined, name: string): string {
  const value = form?.[name];
  return typeof value === 'string' ? value : '';
}

export function reasonOf(form: Form): Reason {
  const parsed = ReasonSchema.safeParse(field(form, 'reason'));
  if (!parsed.success) throw errors.invalidParameters([{ name: 'reason', reason: 'choose one of the listed reasons' }]);
  return parsed.data;
}

const FIELD_NAMES: FieldName[] = ['firstName', 'lastName', 'dateOfBirth', 'gender', 'nationality', 'documentNumber', 'dateOfExpiry'];

/** The approval form's fields as typed, for validation and for showing them again beside their errors. */
export function formValues(form: Form): FieldValues {
  return Object.fromEntries(FIELD_NAMES.map((name) => [name, field(form, name)]));
}
