/**
 * The small metrics interface a node reports through. Plug in prom-client with
 * `prometheusMetrics()` (see metrics-prometheus.ts) or anything else.
 */
export interface Metrics {
  /** Adds to a counter. */
  count(name: MetricName, value?: number, labels?: Record<string, string>): void;
  /** Sets a gauge. */
  gauge(name: MetricName, value: number, labels?: Record<string, string>): void;
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
  | 'inventory_bytes_received_total'
  | 'peers'
  | 'neighbors'
  | 'sequence_length'
  | 'chunks_held';

/** A `Metrics` that records nothing: the default. */
export const noMetrics: Metrics = { count() {}, gauge() {} };
