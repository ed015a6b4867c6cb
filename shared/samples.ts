/** Sample types and their validation (ajv schemas compiled once). */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { ValidationError, type ErrorDetail } from './errors';
import { NODE_NAME_PATTERN, NODE_NAME_RULE, PROCESS_NAME_PATTERN, PROCESS_NAME_RULE } from './names';

export interface NodeSample {
  kind: 'node';
  node: string;
  /** End of the measurement, epoch ms. */
  at: number;
  /** Seconds the measurement covers. */
  timeslice: number;
  cpu: number;
  mem: number;
}

export interface ProcessSample {
  kind: 'process';
  node: string;
  process: string;
  at: number;
  timeslice: number;
  cpu_used: number;
  mem_used: number;
}

export type Sample = NodeSample | ProcessSample;

export const MAX_TIMESLICE_SECONDS = 86400;
/** Oldest accepted sample: the coarse buckets keep 24 h. */
export const MAX_SAMPLE_AGE_MS = 24 * 3600 * 1000;

const at = {
  oneOf: [
    { type: 'number', minimum: 0 },
    { type: 'string', minLength: 1, maxLength: 64 },
  ],
};
const timeslice = { type: 'number', exclusiveMinimum: 0, maximum: MAX_TIMESLICE_SECONDS };
const percent = { type: 'number', minimum: 0, maximum: 100 };
const nonNegative = { type: 'number', minimum: 0, maximum: 1e12 };
const nodeName = { type: 'string', pattern: NODE_NAME_PATTERN };
const processName = { type: 'string', pattern: PROCESS_NAME_PATTERN };

const nodeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['timeslice', 'cpu', 'mem'],
  properties: { timeslice, cpu: percent, mem: percent, at },
};
const processBody = {
  type: 'object',
  additionalProperties: false,
  required: ['timeslice', 'cpu_used', 'mem_used'],
  properties: { timeslice, cpu_used: nonNegative, mem_used: nonNegative, at },
};
const nodeItem = {
  ...nodeBody,
  required: ['node', ...nodeBody.required],
  properties: { node: nodeName, ...nodeBody.properties },
};
const processItem = {
  ...processBody,
  required: ['node', 'process', ...processBody.required],
  properties: { node: nodeName, process: processName, ...processBody.properties },
};

const ajv = new Ajv({ allErrors: true, strict: true });
const validators = {
  nodeBody: ajv.compile(nodeBody),
  processBody: ajv.compile(processBody),
  nodeItem: ajv.compile(nodeItem),
  processItem: ajv.compile(processItem),
  nodeName: ajv.compile(nodeName),
  processName: ajv.compile(processName),
};
/** Stop at an item's first problem: enough to count bad items once the details are full. */
const firstError = new Ajv({ allErrors: false, strict: true });
const itemCheckers = { nodeItem: firstError.compile(nodeItem), processItem: firstError.compile(processItem) };

/** An error answer lists this many problems; the rest are only counted. */
export const MAX_ERROR_DETAILS = 100;

const RULES: Record<string, string> = {
  node: NODE_NAME_RULE,
  process: PROCESS_NAME_RULE,
  nodename: NODE_NAME_RULE,
  processname: PROCESS_NAME_RULE,
};

/** Turns ajv's errors into details that name the field and the bound. */
function describe(errors: ErrorObject[] | null | undefined, index?: number): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    // oneOf repeats each branch's failure; one message for "at" is enough.
    if (error.instancePath === '/at' && error.keyword !== 'oneOf') continue;
    const field =
      error.keyword === 'required'
        ? String(error.params.missingProperty)
        : error.keyword === 'additionalProperties'
          ? String(error.params.additionalProperty)
          : error.instancePath.slice(1) || undefined;
    const message = messageFor(error, field);
    const key = `${field}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    details.push({ ...(index === undefined ? {} : { index }), ...(field ? { field } : {}), message });
  }
  return details;
}

function messageFor(error: ErrorObject, field: string | undefined): string {
  const name = field ?? 'body';
  switch (error.keyword) {
    case 'required':
      return `${name} is required`;
    case 'additionalProperties':
      return `${name} is not a known field`;
    case 'type':
      return `${name} must be a ${error.params.type}`;
    case 'pattern':
      return `${name} must be ${RULES[name] ?? 'in the allowed character set'}`;
    case 'oneOf':
      return `${name} must be epoch milliseconds or an RFC 3339 date-time string`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
      return `${name} must be ${error.params.comparison} ${error.params.limit}`;
    default:
      return `${name} ${error.message ?? 'is invalid'}`;
  }
}

/** Resolves "at" to epoch ms and checks it lies within retention and not far ahead. */
function resolveAt(raw: unknown, receivedAt: number, maxFutureSkewMs: number, index?: number): number | ErrorDetail {
  const where = index === undefined ? {} : { index };
  let ms: number;
  if (raw === undefined) return receivedAt;
  if (typeof raw === 'number') {
    ms = raw;
  } else {
    const text = String(raw);
    ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(ms)) {
      return { ...where, field: 'at', message: 'at must be epoch milliseconds or an RFC 3339 date-time string' };
    }
  }
  if (ms < receivedAt - MAX_SAMPLE_AGE_MS) {
    return { ...where, field: 'at', message: `at must be within the last ${MAX_SAMPLE_AGE_MS / 3600000} hours (retention)` };
  }
  if (ms > receivedAt + maxFutureSkewMs) {
    return { ...where, field: 'at', message: `at must not be more than ${maxFutureSkewMs} ms in the future` };
  }
  return ms;
}

export interface ValidationContext {
  receivedAt: number;
  maxFutureSkewMs: number;
}

function check(valid: boolean, fn: ValidateFunction): ErrorDetail[] {
  return valid ? [] : describe(fn.errors);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Body of `POST /v1/metrics/node/{nodename}`. */
export function parseNodeBody(node: string, body: unknown, ctx: ValidationContext): NodeSample {
  const details = [...nameDetails('nodename', node), ...check(validators.nodeBody(body), validators.nodeBody)];
  const b = body as { timeslice: number; cpu: number; mem: number; at?: unknown };
  const at = finish(details, b?.at, ctx);
  return { kind: 'node', node, at, timeslice: b.timeslice, cpu: b.cpu, mem: b.mem };
}

/** Body of `POST /v1/metrics/nodes/{nodename}/process/{processname}`. */
export function parseProcessBody(node: string, process: string, body: unknown, ctx: ValidationContext): ProcessSample {
  const details = [
    ...nameDetails('nodename', node),
    ...nameDetails('processname', process),
    ...check(validators.processBody(body), validators.processBody),
  ];
  const b = body as { timeslice: number; cpu_used: number; mem_used: number; at?: unknown };
  const at = finish(details, b?.at, ctx);
  return { kind: 'process', node, process, at, timeslice: b.timeslice, cpu_used: b.cpu_used, mem_used: b.mem_used };
}

/** Items of `POST /v1/samples`: all valid, or a ValidationError listing every bad item. */
export function parseBatch(items: unknown[], ctx: ValidationContext): Sample[] {
  const details: ErrorDetail[] = [];
  let invalid = 0;
  let problems = 0;
  const samples: Sample[] = new Array(items.length);
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    const full = details.length < MAX_ERROR_DETAILS;
    const fail = (found: ErrorDetail[]) => {
      invalid++;
      problems += found.length;
      if (full) details.push(...found.slice(0, MAX_ERROR_DETAILS - details.length));
    };
    if (!isObject(item)) {
      fail([{ index, message: 'each item must be a JSON object' }]);
      continue;
    }
    const isProcess = 'process' in item;
    if (!full) {
      // The details are full: only count, with the cheaper validator that stops early.
      if (!(isProcess ? itemCheckers.processItem : itemCheckers.nodeItem)(item)) {
        fail([{ index, message: 'invalid' }]);
        continue;
      }
    } else {
      const fn = isProcess ? validators.processItem : validators.nodeItem;
      if (!fn(item)) {
        fail(describe(fn.errors, index));
        continue;
      }
    }
    const atMs = resolveAt(item.at, ctx.receivedAt, ctx.maxFutureSkewMs, index);
    if (typeof atMs !== 'number') {
      fail([atMs]);
      continue;
    }
    samples[index] = isProcess
      ? {
          kind: 'process',
          node: item.node as string,
          process: item.process as string,
          at: atMs,
          timeslice: item.timeslice as number,
          cpu_used: item.cpu_used as number,
          mem_used: item.mem_used as number,
        }
      : {
          kind: 'node',
          node: item.node as string,
          at: atMs,
          timeslice: item.timeslice as number,
          cpu: item.cpu as number,
          mem: item.mem as number,
        };
  }
  if (invalid > 0) {
    throw new ValidationError(
      `${invalid} of ${items.length} samples are invalid; nothing was stored.`,
      details,
      Math.max(problems, details.length),
    );
  }
  return samples;
}

/** Checks a node or process name taken from a URL path. */
export function nameDetails(field: 'nodename' | 'processname', value: string): ErrorDetail[] {
  const fn = field === 'nodename' ? validators.nodeName : validators.processName;
  return fn(value) ? [] : [{ field, message: `${field} must be ${RULES[field]}` }];
}

/** Throws the collected problems, if any; otherwise resolves the sample's time. */
function finish(details: ErrorDetail[], rawAt: unknown, ctx: ValidationContext): number {
  if (details.length === 0) {
    const atMs = resolveAt(rawAt, ctx.receivedAt, ctx.maxFutureSkewMs);
    if (typeof atMs === 'number') return atMs;
    details.push(atMs);
  }
  throw new ValidationError('The sample is invalid; nothing was stored.', details);
}
