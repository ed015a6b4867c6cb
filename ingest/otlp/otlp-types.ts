/** The parts of an OTLP metrics request the mapping reads (protobufjs objects: camelCase, 64-bit numbers as numbers). */

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number;
  doubleValue?: number;
}

export interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue;
}

export interface OtlpNumberPoint {
  attributes?: OtlpKeyValue[];
  startTimeUnixNano?: number;
  timeUnixNano?: number;
  asDouble?: number;
  asInt?: number;
}

interface OtlpPoints {
  dataPoints?: OtlpNumberPoint[];
}

export interface OtlpMetric {
  name?: string;
  gauge?: OtlpPoints;
  sum?: OtlpPoints & { aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: OtlpPoints;
  exponentialHistogram?: OtlpPoints;
  summary?: OtlpPoints;
}

export interface OtlpResourceMetrics {
  resource?: { attributes?: OtlpKeyValue[] };
  scopeMetrics?: { metrics?: OtlpMetric[] }[];
}

export interface OtlpMetricsRequest {
  resourceMetrics?: OtlpResourceMetrics[];
}

/** AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA */
export const TEMPORALITY_DELTA = 1;
