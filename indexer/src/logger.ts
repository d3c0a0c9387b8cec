import { type Logger, pino } from 'pino';

/** A pino logger writing JSON lines to stderr (stdout carries only the ready line). */
export function createLogger(level: string): Logger {
  return pino({ name: 'indexer', level }, pino.destination({ fd: 2, sync: true }));
}
