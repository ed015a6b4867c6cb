/** Pipeline replies: all of a read's data or none of it. */
import { DependencyUnavailableError } from '../errors';

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
