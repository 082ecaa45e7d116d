import { z } from 'zod';

/**
 * The verified identity a proofing yields, in the seed's `userData` shape: names as on the document, dates as
 * YYYY-MM-DD, gender M/F/X, nationality ISO 3166-1 alpha-3 (or an ICAO code such as XXA for stateless persons).
 */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((value) => {
    const date = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
  }, 'must be a real calendar date');

const name = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

export const UserDataSchema = z.strictObject({
  firstName: name,
  lastName: name,
  dateOfBirth: isoDate,
  gender: z.enum(['M', 'F', 'X']),
  nationality: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 3166-1 alpha-3 code'),
});

export type UserData = z.infer<typeof UserDataSchema>;
