/**
 * OTLP/HTTP metrics on the wire: the official .proto definitions (ingest/otlp/proto) loaded
 * once with protobufjs; requests decoded from protobuf or OTLP/JSON into one plain shape,
 * answers and error statuses encoded in the request's own format.
 */
import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { BadRequestError, PayloadTooLargeError } from '../../shared/errors';
import type { OtlpMetricsRequest } from './otlp-types';

export type OtlpFormat = 'protobuf' | 'json';

export const OTLP_MEDIA_TYPES = { 'application/x-protobuf': 'protobuf', 'application/json': 'json' } as const;
export type OtlpMediaType = keyof typeof OTLP_MEDIA_TYPES;

const PROTO_DIR = join(__dirname, 'proto');

// 64-bit integers (two timestamps a data point) decode as numbers, not Long objects: the
// mapping reads them as numbers anyway, and the objects were garbage made per point.
// (protobufjs's documented switch; it is this process's only protobuf user.)
protobuf.util.Long = null as unknown as typeof protobuf.util.Long;
protobuf.configure();

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_DIR, target));
  root.loadSync(['opentelemetry/proto/collector/metrics/v1/metrics_service.proto', 'google/rpc/status.proto']);
  root.resolveAll();
  return root;
}

const root = loadRoot();
const RequestType = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const ResponseType = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');
const StatusType = root.lookupType('google.rpc.Status');

const DATA_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** The largest of the counts of resources, metrics and data points, taken before anything else is done with a request. */
function countParts(request: OtlpMetricsRequest): number {
  let points = 0;
  let metrics = 0;
  const resources = request.resourceMetrics?.length ?? 0;
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      metrics += sm.metrics?.length ?? 0;
      for (const metric of sm.metrics ?? []) {
        for (const kind of DATA_KINDS) points += metric[kind]?.dataPoints?.length ?? 0;
      }
    }
  }
  return Math.max(points, metrics, resources);
}

function decodeMessage(body: Buffer, format: OtlpFormat): protobuf.Message {
  if (format === 'protobuf') {
    try {
      return RequestType.decode(body);
    } catch (error) {
      throw new BadRequestError('INVALID_PROTOBUF', `The body is not an OTLP ExportMetricsServiceRequest: ${shortMessage(error)}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BadRequestError('INVALID_JSON', `The body is not valid JSON: ${shortMessage(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestError(
      'INVALID_OTLP_JSON',
      'The body must be an OTLP/JSON ExportMetricsServiceRequest object ({"resourceMetrics": [...]}).',
    );
  }
  try {
    return RequestType.fromObject(parsed);
  } catch (error) {
    throw new BadRequestError('INVALID_OTLP_JSON', `The body is not an OTLP/JSON ExportMetricsServiceRequest: ${shortMessage(error)}`);
  }
}

/** Decodes a request; 400 when malformed, 413 when it holds more than `maxPoints` data points. */
export function decodeMetricsRequest(body: Buffer, format: OtlpFormat, maxPoints: number): OtlpMetricsRequest {
  // The decoded message is read as it is (no conversion to plain objects: it would cost as much again).
  const request = decodeMessage(body, format) as unknown as OtlpMetricsRequest;
  // Empty resources or metrics cost work too: each count is bounded like the data points.
  const parts = countParts(request);
  if (parts > maxPoints) {
    throw new PayloadTooLargeError(
      `An export holds at most ${maxPoints} data points (and as many resources and metrics); this one has ${parts}. Send smaller batches.`,
    );
  }
  return request;
}

export interface PartialSuccess {
  rejectedDataPoints: number;
  errorMessage: string;
}

/** The ExportMetricsServiceResponse: empty on full success, else with partial_success. */
export function encodeExportResponse(format: OtlpFormat, partial?: PartialSuccess): Buffer | Record<string, unknown> {
  if (format === 'json') {
    // proto3 JSON writes 64-bit integers as strings.
    return partial
      ? { partialSuccess: { rejectedDataPoints: String(partial.rejectedDataPoints), errorMessage: partial.errorMessage } }
      : {};
  }
  const message = ResponseType.fromObject(partial ? { partialSuccess: partial } : {});
  return Buffer.from(ResponseType.encode(message).finish());
}

/** google.rpc.Status in protobuf, the body OTLP/HTTP gives every 4xx and 5xx answer. */
export function encodeStatus(code: number, message: string): Buffer {
  return Buffer.from(StatusType.encode(StatusType.fromObject({ code, message })).finish());
}

/** Decodes a google.rpc.Status (for tests and clients reading our answers). */
export function decodeStatus(body: Uint8Array): { code?: number; message?: string } {
  return StatusType.toObject(StatusType.decode(body)) as { code?: number; message?: string };
}

/** Decodes an ExportMetricsServiceResponse (for tests). */
export function decodeExportResponse(body: Uint8Array): { partialSuccess?: { rejectedDataPoints?: number; errorMessage?: string } } {
  return ResponseType.toObject(ResponseType.decode(body), { longs: Number }) as {
    partialSuccess?: { rejectedDataPoints?: number; errorMessage?: string };
  };
}

/** Encodes a request from its OTLP/JSON form (for tests and the benchmark). */
export function encodeMetricsRequest(request: Record<string, unknown>): Buffer {
  return Buffer.from(RequestType.encode(RequestType.fromObject(request)).finish());
}

function shortMessage(error: unknown): string {
  return String((error as Error)?.message ?? error).slice(0, 200);
}
