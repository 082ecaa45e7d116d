import type { FastifyBaseLogger } from 'fastify';
import pino, { type Bindings, type ChildLoggerOptions, type LogFn, type Logger } from 'pino';

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

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Fastify's per-request logger (its `childLoggerFactory`), made into a pino child only when the request logs at a level
 * the logger writes. Making a child runs its bindings through pino's redaction, on every request, while at level warn
 * most requests log nothing. A route with its own level or serializers gets its child at once, as before.
 */
export function deferredChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level || options.serializers) return logger.child(bindings, options);
  return new DeferredChildLogger(logger, bindings, options);
}

/** A class: an object literal with a level accessor, made per request, cost more than the pino child it defers. */
class DeferredChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.materialised().level = level;
  }

  fatal: LogFn = (...args: Parameters<LogFn>) => this.log('fatal', args);
  error: LogFn = (...args: Parameters<LogFn>) => this.log('error', args);
  warn: LogFn = (...args: Parameters<LogFn>) => this.log('warn', args);
  info: LogFn = (...args: Parameters<LogFn>) => this.log('info', args);
  debug: LogFn = (...args: Parameters<LogFn>) => this.log('debug', args);
  trace: LogFn = (...args: Parameters<LogFn>) => this.log('trace', args);
  silent: LogFn = () => undefined;

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.materialised().child(bindings, options);
  }

  private log(level: Level, args: Parameters<LogFn>): void {
    // pino says which levels it writes (the child's own level once one is set); another logger is asked nothing.
    if (((this.made ?? this.parent) as Partial<Logger>).isLevelEnabled?.(level) ?? true) (this.materialised()[level] as (...a: unknown[]) => void)(...args);
  }

  private materialised(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }
}
