/** Value parsers for options and arguments: each rejects bad input with a message saying what is accepted. */
import { InvalidArgumentError } from 'commander';
import { NODE_NAME_PATTERN, NODE_NAME_RULE, PROCESS_NAME_PATTERN, PROCESS_NAME_RULE } from '../shared/names';

const NODE_NAME = new RegExp(NODE_NAME_PATTERN);
const PROCESS_NAME = new RegExp(PROCESS_NAME_PATTERN);

export function numberIn(min: number, max: number, options: { exclusiveMin?: boolean } = {}): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    const tooLow = options.exclusiveMin ? value <= min : value < min;
    if (raw.trim() === '' || !Number.isFinite(value) || tooLow || value > max) {
      throw new InvalidArgumentError(
        `Expected a number ${options.exclusiveMin ? 'above' : 'from'} ${min} ${options.exclusiveMin ? 'up to' : 'to'} ${max}.`,
      );
    }
    return value;
  };
}

export function integerIn(min: number, max: number): (raw: string) => number {
  return (raw) => {
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    return Number(raw);
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "500ms", "2m", "1h", or a bare number of seconds; answers milliseconds. */
export function durationMs(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const ms = match ? Number(match[1]) * UNITS[match[2] ?? 's']! : NaN;
  if (!Number.isFinite(ms) || ms <= 0)
    throw new InvalidArgumentError('Expected a duration like 30s, 500ms, 2m or 1h (a bare number is seconds).');
  return ms;
}

export function nodeName(raw: string): string {
  if (!NODE_NAME.test(raw)) throw new InvalidArgumentError(`A node name is ${NODE_NAME_RULE}.`);
  return raw;
}

export function processName(raw: string): string {
  if (!PROCESS_NAME.test(raw)) throw new InvalidArgumentError(`A process name is ${PROCESS_NAME_RULE}.`);
  return raw;
}

/** Repeatable option: --id a --id b. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
