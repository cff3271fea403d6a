import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { AtlasNode } from '../../src/node/index.js';
import type { HistogramName, MetricName, Metrics } from '../../src/node/metrics.js';
import { prometheusMetrics } from '../../src/node/metrics-prometheus.js';
import type { Logger } from '../../src/runtime.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { HttpTransport } from '../../src/transport/http.js';
import { allSynced, closeAll, startCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const open: AtlasNode[] = [];
afterEach(async () => {
  await closeAll(open.splice(0));
});

class RecordingMetrics implements Metrics {
  readonly counts = new Map<string, number>();
  readonly samples: { name: HistogramName; value: number; labels: Record<string, string> }[] = [];
  count(name: MetricName, value = 1, labels: Record<string, string> = {}): void {
    const key = `${name}${JSON.stringify(labels)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + value);
  }
  gauge(): void {}
  observe(name: HistogramName, value: number, labels: Record<string, string> = {}): void {
    this.samples.push({ name, value, labels });
  }
  total(prefix: string): number {
    let sum = 0;
    for (const [key, value] of this.counts) if (key.startsWith(prefix)) sum += value;
    return sum;
  }
}

describe('what operators see', () => {
  it('latency histograms, errors, wire bytes and debug logs of calls, admissions, refreshes and requests', async () => {
    const chunks = generateChunks(30, seededRandom(21));
    const chain = new MemoryChain();
    chain.announce(chunks.map((c) => c.address));
    const metrics = [new RecordingMetrics(), new RecordingMetrics()];
    const logs: string[] = [];
    const logger: Logger = { debug: (m) => logs.push(m), info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
    const nodes = await startCluster(2, chain, () => new HttpTransport({ listen: '127.0.0.1:0' }), (i) => ({
      metrics: metrics[i]!,
      ...(i === 1 ? { logger } : {}),
    }));
    open.push(...nodes);
    await nodes[0]!.putChunks(chunks.map((c) => c.data));
    await waitFor(() => allSynced(nodes), 'both nodes to hold every chunk');
    await waitFor(() => logs.includes('inventory refreshed'), 'a refresh');
    await waitFor(() => metrics[1]!.total('wire_bytes_received_total') > 0, 'a round to sample the wire');
    // Node 1 serves once node 0 calls it (its own refresh or push), on node 0's schedule.
    await waitFor(() => logs.includes('request served'), 'node 1 to serve a request');

    const sent = metrics[1]!.samples.filter((s) => s.labels.side === 'sent');
    const served = metrics[0]!.samples.filter((s) => s.labels.side === 'served');
    expect(new Set(sent.map((s) => s.labels.method))).toContain('inventory');
    expect(new Set(sent.map((s) => s.labels.method))).toContain('getChunks');
    expect(new Set(served.map((s) => s.labels.method))).toContain('getChunks');
    for (const sample of [...sent, ...served]) {
      expect(sample.name).toBe('request_duration_seconds');
      expect(sample.value).toBeGreaterThan(0); // every sample timed a real request
      expect(sample.value).toBeLessThan(30);
    }
    expect(metrics[1]!.total('requests_sent_total')).toBe(sent.length);
    expect(metrics[1]!.total('wire_bytes_sent_total')).toBeGreaterThan(0);
    for (const message of ['call', 'peer admitted', 'inventory refreshed', 'request served']) expect(logs).toContain(message);
  });

  it('counts failed calls by method and code', async () => {
    const chain = new MemoryChain();
    const metrics = new RecordingMetrics();
    const node = await AtlasNode.open({
      chain,
      transport: new HttpTransport({ listen: '127.0.0.1:0' }),
      seeds: ['127.0.0.1:1'],
      network: 'testnet',
      timers: { roundMs: 30 },
      metrics,
    });
    open.push(node);
    await node.start();
    await waitFor(() => metrics.total('request_errors_total') > 0, 'a call to a closed port to fail');
    expect([...metrics.counts.keys()].some((k) => k.startsWith('request_errors_total') && k.includes('"side":"sent"') && k.includes('"code":"UNREACHABLE"'))).toBe(true);
  });

  it('the Prometheus adapter exposes the latency histogram', async () => {
    const metrics = await prometheusMetrics({ labels: { node: 'a' } });
    metrics.observe('request_duration_seconds', 0.003, { method: 'ping', side: 'sent' });
    metrics.count('wire_bytes_sent_total', 100);
    metrics.count('request_errors_total', 1, { method: 'ping', side: 'sent', code: 'TIMEOUT' });
    const text = await metrics.expose();
    expect(text).toContain('# TYPE atlas_request_duration_seconds histogram');
    expect(text).toMatch(/^atlas_request_duration_seconds_bucket\{le="0.005",method="ping",side="sent",node="a"\} 1$/m);
    expect(text).toMatch(/^atlas_wire_bytes_sent_total\{node="a"\} 100$/m);
    expect(text).toMatch(/^atlas_request_errors_total\{method="ping",side="sent",code="TIMEOUT",node="a"\} 1$/m);
  });
});
