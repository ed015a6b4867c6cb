/**
 * Logs on stdout (pino), one logger per service: JSON lines for log collectors, or readable
 * lines for a person at a terminal (LOG_FORMAT, README "Configuration").
 */
import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger };

/** Whether LOG_FORMAT asks for readable lines on this stdout (auto: only on a terminal). */
export function prettyLogs(format: string, stdoutIsTty: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTty);
}

export function createLogger(service: string, level: string, format = 'json'): Logger {
  const options = { name: service, level, base: { service, pid: process.pid } };
  if (!prettyLogs(format, process.stdout.isTTY === true)) return pino(options);
  // Synchronous, so the last lines before an exit are not lost; colours only on a terminal.
  const pretty = pinoPretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  return pino(options, pretty);
}
