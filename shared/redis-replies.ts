/** Helpers for Redis replies: flat field-value arrays (XINFO and friends) and pipelines. */
import { DependencyUnavailableError } from './errors';

export function replyToRecord(fields: readonly unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[String(fields[i])] = fields[i + 1];
  return record;
}

/**
 * The values of a pipeline's replies, or a 503 when any command failed: a read answers
 * with all of its data or not at all, never with the failed parts left out.
 */
export function pipelineValues(replies: [error: Error | null, value: unknown][] | null, count: number): unknown[] {
  const failed = replies === null ? new Error('the pipeline was not run') : replies.find(([error]) => error !== null)?.[0];
  if (failed || replies === null || replies.length !== count) {
    throw new DependencyUnavailableError('Redis failed part of the read; nothing partial is answered. Retry later.', failed);
  }
  return replies.map(([, value]) => value);
}
