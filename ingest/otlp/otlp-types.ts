/**
 * The parts of an OTLP metrics request the mapping reads: protobufjs messages as decoded (camelCase;
 * a field that was not sent is not an own property and reads as its default; 64-bit integers are
 * numbers, see otlp-protocol.ts).
 */

/** A 64-bit integer as decoded: a number (a string from OTLP/JSON, or a Long where a caller built one). */
export type Int64 = number | string | { toNumber(): number };

export function int64ToNumber(value: Int64 | null | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  return value && typeof value.toNumber === 'function' ? value.toNumber() : NaN;
}

/** Whether a field was sent (rather than read from the message's defaults). */
export function has(message: object | null | undefined, field: string): boolean {
  return message !== null && message !== undefined && Object.prototype.hasOwnProperty.call(message, field);
}

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
}

export interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue | null;
}

export interface OtlpNumberPoint {
  attributes?: OtlpKeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  asDouble?: number;
  asInt?: Int64;
}

interface OtlpPoints {
  dataPoints?: OtlpNumberPoint[];
}

export interface OtlpMetric {
  name?: string;
  gauge?: OtlpPoints | null;
  sum?: (OtlpPoints & { aggregationTemporality?: number; isMonotonic?: boolean }) | null;
  histogram?: OtlpPoints | null;
  exponentialHistogram?: OtlpPoints | null;
  summary?: OtlpPoints | null;
}

export interface OtlpResourceMetrics {
  resource?: { attributes?: OtlpKeyValue[] } | null;
  scopeMetrics?: { metrics?: OtlpMetric[] }[];
}

export interface OtlpMetricsRequest {
  resourceMetrics?: OtlpResourceMetrics[];
}

/** AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA */
export const TEMPORALITY_DELTA = 1;
