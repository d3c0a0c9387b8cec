import { type Logger, pino } from 'pino';
import type { SfuConfig } from './config.ts';

/** The package's root logger; parts take child loggers from it. */
export function createSfuLogger(config: Pick<SfuConfig, 'logLevel'>): Logger {
  return pino({ name: 'sfu', level: config.logLevel });
}
