import type { LoggerOptions } from 'pino';

/**
 * Secrets a log line must never carry, whatever logs them: stream keys (`Authorization: Bearer` of a WHIP POST, a
 * `token` returned to the studio), session tokens and cookies. Censored in every signaling logger.
 */
export const LOG_REDACTION: NonNullable<LoggerOptions['redact']> = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    'headers.cookie',
    'authorization',
    'cookie',
    'token',
    'streamKey',
    '*.authorization',
    '*.token',
    '*.streamKey',
  ],
  censor: '[redacted]',
};
