/**
 * The small metrics interface a node reports through. Plug in prom-client with
 * `prometheusMetrics()` (see metrics-prometheus.ts) or anything else.
 */
export interface Metrics {
  /** Adds to a counter. */
  count(name: MetricName, value?: number, labels?: Record<string, string>): void;
  /** Sets a gauge. */
  gauge(name: MetricName, value: number, labels?: Record<string, string>): void;
  /** Records one sample of a histogram (durations in seconds). Optional: without it, no latencies. */
  observe?(name: HistogramName, value: number, labels?: Record<string, string>): void;
  /** Text exposition for a /metrics route, when the implementation has one. */
  expose?(): Promise<string>;
}

/** The names of the counters and gauges a node reports through `Metrics`. */
export type MetricName =
  | 'chunks_stored_total'
  | 'chunk_bytes_stored_total'
  | 'chunks_rejected_total'
  | 'requests_served_total'
  | 'requests_sent_total'
  /** Requests that failed, by method, side ('sent' or 'served') and error code. */
  | 'request_errors_total'
  | 'inventory_bytes_received_total'
  /** Bytes read from and written to the wire by the transport (when it counts them). */
  | 'wire_bytes_received_total'
  | 'wire_bytes_sent_total'
  | 'peers'
  | 'neighbors'
  | 'sequence_length'
  | 'chunks_held';

/** Latency of protocol requests, by method and side ('sent': our calls, 'served': peers' calls). */
export type HistogramName = 'request_duration_seconds';

/** Upper bounds of the latency histogram's buckets, in seconds (loopback to the 30 s chunk deadline). */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);

/** A `Metrics` that records nothing: the default. */
export const noMetrics: Metrics = { count() {}, gauge() {} };
