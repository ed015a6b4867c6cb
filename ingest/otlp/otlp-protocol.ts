/**
 * OTLP/HTTP metrics on the wire: the official .proto definitions (ingest/otlp/proto) loaded
 * once with protobufjs; requests decoded from protobuf or OTLP/JSON into one plain shape,
 * answers and error statuses encoded in the request's own format.
 */
import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { BadRequestError, PayloadTooLargeError } from '../../shared/errors';
import type { OtlpMetricsRequest, OtlpResourceMetrics } from './otlp-types';

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

const ResourceMetricsType = root.lookupType('opentelemetry.proto.metrics.v1.ResourceMetrics');

const DATA_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** ExportMetricsServiceRequest.resource_metrics: field 1, length-delimited. */
const RESOURCE_METRICS_FIELD = 1;
const LENGTH_DELIMITED = 2;

/**
 * The counts of resources, metrics and data points seen so far; each is bounded by
 * `maxPoints`, checked as each resource is decoded, before anything else is done with it.
 */
class PartCounts {
  private resources = 0;
  private metrics = 0;
  private points = 0;

  constructor(private readonly maxPoints: number) {}

  add(rm: OtlpResourceMetrics): void {
    this.resources++;
    for (const sm of rm.scopeMetrics ?? []) {
      this.metrics += sm.metrics?.length ?? 0;
      for (const metric of sm.metrics ?? []) {
        for (const kind of DATA_KINDS) this.points += metric[kind]?.dataPoints?.length ?? 0;
      }
    }
    const parts = Math.max(this.points, this.metrics, this.resources);
    if (parts > this.maxPoints) {
      // Empty resources or metrics cost work too: each count is bounded like the data points.
      throw new PayloadTooLargeError(
        `An export holds at most ${this.maxPoints} data points (and as many resources and metrics); this one has more. Send smaller batches.`,
      );
    }
  }
}

/**
 * Hands each ResourceMetrics of a protobuf request to `visit` as it is decoded, so a resource's
 * decoded messages are garbage once it is mapped: decoding the whole request first kept an
 * export's messages (megabytes) alive through the young generation's collections, which then
 * copied and promoted them (docs/BENCHMARKS.md, "OTLP exports decoded resource by resource").
 */
function visitProtobuf(body: Buffer, counts: PartCounts, visit: (rm: OtlpResourceMetrics) => void): void {
  const reader = protobuf.Reader.create(body);
  while (reader.pos < reader.len) {
    const rm = nextResourceMetrics(reader);
    if (rm === undefined) continue;
    counts.add(rm);
    // Outside the decode's catch: a failure of the mapping is not the body's fault.
    visit(rm);
  }
}

/** The next field's ResourceMetrics; undefined for another field (skipped). 400 when the bytes are not protobuf. */
function nextResourceMetrics(reader: protobuf.Reader): OtlpResourceMetrics | undefined {
  try {
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (tag >>> 3 !== RESOURCE_METRICS_FIELD) {
      reader.skipType(wireType);
      return undefined;
    }
    if (wireType !== LENGTH_DELIMITED) throw new Error(`field ${RESOURCE_METRICS_FIELD} has wire type ${wireType}`);
    return ResourceMetricsType.decode(reader, reader.uint32()) as unknown as OtlpResourceMetrics;
  } catch (error) {
    throw new BadRequestError('INVALID_PROTOBUF', `The body is not an OTLP ExportMetricsServiceRequest: ${shortMessage(error)}`);
  }
}

function decodeJson(body: Buffer): OtlpMetricsRequest {
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
    // The decoded message is read as it is (no conversion to plain objects: it would cost as much again).
    return RequestType.fromObject(parsed) as unknown as OtlpMetricsRequest;
  } catch (error) {
    throw new BadRequestError('INVALID_OTLP_JSON', `The body is not an OTLP/JSON ExportMetricsServiceRequest: ${shortMessage(error)}`);
  }
}

/**
 * Hands each ResourceMetrics of a request to `visit`, in order; 400 when the body is malformed,
 * 413 when it holds more than `maxPoints` data points (or resources, or metrics). A malformed
 * body can fail after some resources were visited: the caller keeps nothing of a failed decode.
 */
export function visitResourceMetrics(body: Buffer, format: OtlpFormat, maxPoints: number, visit: (rm: OtlpResourceMetrics) => void): void {
  const counts = new PartCounts(maxPoints);
  if (format === 'protobuf') {
    visitProtobuf(body, counts, visit);
    return;
  }
  const request = decodeJson(body);
  const resources = request.resourceMetrics ?? [];
  // All counted before any is visited: a JSON body is decoded whole anyway.
  for (const rm of resources) counts.add(rm);
  for (const rm of resources) visit(rm);
}

/** Decodes a whole request (for tests); the same checks as visitResourceMetrics. */
export function decodeMetricsRequest(body: Buffer, format: OtlpFormat, maxPoints: number): OtlpMetricsRequest {
  const resourceMetrics: OtlpResourceMetrics[] = [];
  visitResourceMetrics(body, format, maxPoints, (rm) => resourceMetrics.push(rm));
  return { resourceMetrics };
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
