/** A logger whose lines a test reads back (JSON, one string a line). */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../shared/logger';

export function capturingLogger(lines: string[], level = 'info'): Logger {
  return pino(
    { level },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
}
