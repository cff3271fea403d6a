/**
 * A `Metrics` implementation over prom-client, which stays an optional peer dependency: it is
 * loaded with a dynamic import only when this adapter is used, and its absence is one clear error.
 *
 *   const metrics = await prometheusMetrics({ labels: { node: 'a' } });
 *   const node = await AtlasNode.open({ ..., metrics });  // HttpTransport then serves GET /metrics
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { LATENCY_BUCKETS, type HistogramName, type MetricName, type Metrics } from './metrics.js';

/** The part of prom-client this adapter uses (typed here so the package builds without it). */
export interface PromClientModule {
  Registry: new () => PromRegistry;
  Counter: new (config: PromMetricConfig) => PromCounter;
  Gauge: new (config: PromMetricConfig) => PromGauge;
  /** Optional here: without it, latencies are not recorded. */
  Histogram?: new (config: PromMetricConfig & { buckets: number[] }) => PromHistogram;
  collectDefaultMetrics(config?: { register?: PromRegistry; prefix?: string }): void;
}

/** The part of a prom-client `Registry` atlasnet uses. */
export interface PromRegistry {
  metrics(): Promise<string>;
  getSingleMetric(name: string): unknown;
  readonly contentType: string;
}

/** What this adapter gives a prom-client metric's constructor (`PromClientModule`). */
export interface PromMetricConfig {
  name: string;
  help: string;
  labelNames: string[];
  registers: PromRegistry[];
}

/** The part of a prom-client `Counter` atlasnet uses. */
export interface PromCounter {
  /** Adds `value` to the counter of these labels. */
  inc(labels: Record<string, string>, value: number): void;
}

/** The part of a prom-client `Gauge` atlasnet uses. */
export interface PromGauge {
  /** Sets the gauge of these labels to `value`. */
  set(labels: Record<string, string>, value: number): void;
}

/** The part of a prom-client `Histogram` atlasnet uses. */
export interface PromHistogram {
  /** Records one observation of `value` under these labels. */
  observe(labels: Record<string, string>, value: number): void;
}

/** Options of `prometheusMetrics`. */
export interface PrometheusMetricsOptions {
  /** Registry to register in, e.g. one shared by several nodes (give each node distinct `labels`). Default: a new one. */
  registry?: PromRegistry;
  /** Prefix of every metric name. Default 'atlas_'. */
  prefix?: string;
  /** Labels added to every sample, e.g. { node: 'a' }. */
  labels?: Readonly<Record<string, string>>;
  /** Also collect prom-client's process metrics (CPU, memory, event loop). Default false. */
  defaultMetrics?: boolean;
  /** The prom-client module itself, for hosts that load it their own way. Default: import('prom-client'). */
  client?: PromClientModule;
}

/** The `Metrics` of a node recorded in prom-client counters and gauges, with the registry that exposes them. */
export interface PrometheusMetrics extends Metrics {
  readonly registry: PromRegistry;
  observe(name: HistogramName, value: number, labels?: Record<string, string>): void;
  expose(): Promise<string>;
}

type Kind = 'counter' | 'gauge';

const DEFINITIONS: Readonly<Record<MetricName, { kind: Kind; help: string; labels: readonly string[] }>> = {
  chunks_stored_total: { kind: 'counter', help: 'Chunks newly stored, from clients and peers.', labels: [] },
  chunk_bytes_stored_total: { kind: 'counter', help: 'Bytes of chunks newly stored.', labels: [] },
  chunks_rejected_total: { kind: 'counter', help: 'Chunks refused on admission.', labels: ['reason'] },
  requests_served_total: { kind: 'counter', help: 'Protocol requests served, by method.', labels: ['method'] },
  requests_sent_total: { kind: 'counter', help: 'Protocol requests sent to peers, by method.', labels: ['method'] },
  request_errors_total: { kind: 'counter', help: 'Protocol requests that failed, by method, side (sent or served) and error code.', labels: ['method', 'side', 'code'] },
  inventory_bytes_received_total: { kind: 'counter', help: 'Inventory bytes received from neighbours.', labels: [] },
  wire_bytes_received_total: { kind: 'counter', help: 'Bytes read from the wire by the transport.', labels: [] },
  wire_bytes_sent_total: { kind: 'counter', help: 'Bytes written to the wire by the transport.', labels: [] },
  peers: { kind: 'gauge', help: 'Peers in the peer table.', labels: [] },
  neighbors: { kind: 'gauge', help: 'Active neighbours.', labels: [] },
  sequence_length: { kind: 'gauge', help: 'Announcements in the sequence.', labels: [] },
  chunks_held: { kind: 'gauge', help: 'Inventory positions whose chunk is held.', labels: [] },
};

const HISTOGRAMS: Readonly<Record<HistogramName, { help: string; labels: readonly string[] }>> = {
  request_duration_seconds: { help: 'Latency of protocol requests in seconds, by method and side (sent or served).', labels: ['method', 'side'] },
};

const PROM_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PROM_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Imports a module by its specifier, as `import()` does: how `loadPromClient` loads prom-client. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/** Loads prom-client, or throws one clear error saying how to install it. */
export async function loadPromClient(importer: ModuleImporter = (specifier) => import(specifier)): Promise<PromClientModule> {
  let loaded: unknown;
  try {
    loaded = await importer('prom-client');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    throw new AtlasError(
      ErrorCodes.INTERNAL,
      missing
        ? 'prometheusMetrics() needs the optional package prom-client: run `npm install prom-client`'
        : `prom-client could not be loaded: ${(error as Error | undefined)?.message ?? String(error)}`,
      { dependency: 'prom-client' },
      { cause: error },
    );
  }
  const module = pickModule(loaded);
  if (module === undefined) {
    throw new AtlasError(ErrorCodes.INTERNAL, 'the module loaded as prom-client lacks Registry, Counter or Gauge', { dependency: 'prom-client' });
  }
  return module;
}

function pickModule(loaded: unknown): PromClientModule | undefined {
  const candidates = [loaded, (loaded as { default?: unknown } | undefined)?.default];
  for (const candidate of candidates) {
    const m = candidate as Partial<PromClientModule> | undefined;
    if (m && typeof m.Registry === 'function' && typeof m.Counter === 'function' && typeof m.Gauge === 'function') return m as PromClientModule;
  }
  return undefined;
}

/** Metrics over prom-client; `expose()` gives the text for a /metrics route. Never throws from count/gauge. */
export async function prometheusMetrics(options: PrometheusMetricsOptions = {}): Promise<PrometheusMetrics> {
  const client = options.client ?? (await loadPromClient());
  const prefix = options.prefix ?? 'atlas_';
  const constant = { ...options.labels };
  for (const name of Object.keys(constant)) {
    if (!PROM_LABEL.test(name)) throw new AtlasError(ErrorCodes.BAD_REQUEST, `not a Prometheus label name: ${JSON.stringify(name)}`);
  }
  if (!PROM_NAME.test(`${prefix}x`)) throw new AtlasError(ErrorCodes.BAD_REQUEST, `not a Prometheus metric prefix: ${JSON.stringify(prefix)}`);
  const registry = options.registry ?? new client.Registry();
  if (options.defaultMetrics) client.collectDefaultMetrics({ register: registry, prefix });

  const made = new Map<MetricName, PromCounter | PromGauge>();
  const metric = (name: MetricName): PromCounter | PromGauge => {
    let found = made.get(name);
    if (found === undefined) {
      const definition = DEFINITIONS[name];
      const fullName = prefix + name;
      // A shared registry may already hold it (another node); reuse it, labels tell them apart.
      const existing = registry.getSingleMetric(fullName) as PromCounter | PromGauge | undefined;
      found =
        existing ??
        new (definition.kind === 'counter' ? client.Counter : client.Gauge)({
          name: fullName,
          help: definition.help,
          labelNames: [...definition.labels, ...Object.keys(constant)],
          registers: [registry],
        });
      made.set(name, found);
    }
    return found;
  };
  const labelsFor = (names: readonly string[], labels: Record<string, string> | undefined): Record<string, string> => {
    const picked: Record<string, string> = {};
    for (const key of names) picked[key] = labels?.[key] ?? '';
    return { ...picked, ...constant };
  };
  const histograms = new Map<HistogramName, PromHistogram>();
  const histogram = (name: HistogramName, Histogram: NonNullable<PromClientModule['Histogram']>): PromHistogram => {
    let found = histograms.get(name);
    if (found === undefined) {
      const fullName = prefix + name;
      found =
        (registry.getSingleMetric(fullName) as PromHistogram | undefined) ??
        new Histogram({
          name: fullName,
          help: HISTOGRAMS[name].help,
          labelNames: [...HISTOGRAMS[name].labels, ...Object.keys(constant)],
          buckets: [...LATENCY_BUCKETS],
          registers: [registry],
        });
      histograms.set(name, found);
    }
    return found;
  };

  return {
    registry,
    count(name, value = 1, labels) {
      if (!(name in DEFINITIONS) || !Number.isFinite(value) || value < 0) return;
      (metric(name) as PromCounter).inc(labelsFor(DEFINITIONS[name].labels, labels), value);
    },
    gauge(name, value, labels) {
      if (!(name in DEFINITIONS) || !Number.isFinite(value)) return;
      (metric(name) as PromGauge).set(labelsFor(DEFINITIONS[name].labels, labels), value);
    },
    observe(name, value, labels) {
      const Histogram = client.Histogram;
      if (Histogram === undefined || !(name in HISTOGRAMS) || !Number.isFinite(value) || value < 0) return;
      histogram(name, Histogram).observe(labelsFor(HISTOGRAMS[name].labels, labels), value);
    },
    expose: () => registry.metrics(),
  };
}
