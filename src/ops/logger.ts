import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Secrets and personal data never reach them: credentials and identity fields are redacted
 * wherever they appear, and request bodies are not logged at all.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.activationCode',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.proof',
  '*.signature',
  '*.identity',
  '*.userData',
  '*.firstName',
  '*.lastName',
  '*.dateOfBirth',
  '*.documentNumber',
  '*.mrz',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}
