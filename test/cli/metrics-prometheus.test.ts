import { describe, expect, it } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import { loadPromClient, prometheusMetrics } from '../../src/node/metrics-prometheus.js';

describe('prometheusMetrics (optional prom-client adapter)', () => {
  it('counts and sets gauges in a registry and exposes the text format', async () => {
    const metrics = await prometheusMetrics({ labels: { node: 'a' } });
    metrics.count('chunks_stored_total', 3);
    metrics.count('chunks_stored_total');
    metrics.count('requests_served_total', 2, { method: 'ping', unknown: 'dropped' });
    metrics.gauge('peers', 7);
    metrics.gauge('peers', 5);
    const text = await metrics.expose();
    expect(text).toContain('# TYPE atlas_chunks_stored_total counter');
    expect(text).toMatch(/^atlas_chunks_stored_total\{node="a"\} 4$/m);
    expect(text).toMatch(/^atlas_requests_served_total\{method="ping",node="a"\} 2$/m);
    expect(text).toMatch(/^atlas_peers\{node="a"\} 5$/m);
    expect(text).not.toContain('unknown');
  });

  it('lets two nodes share one registry, told apart by their labels', async () => {
    const a = await prometheusMetrics({ labels: { node: 'a' } });
    const b = await prometheusMetrics({ registry: a.registry, labels: { node: 'b' } });
    a.gauge('chunks_held', 10);
    b.gauge('chunks_held', 20);
    const text = await a.expose();
    expect(text).toMatch(/^atlas_chunks_held\{node="a"\} 10$/m);
    expect(text).toMatch(/^atlas_chunks_held\{node="b"\} 20$/m);
  });

  it('ignores values a counter cannot take instead of throwing into the node', async () => {
    const metrics = await prometheusMetrics({ prefix: 'x_' });
    metrics.count('chunks_stored_total', -1);
    metrics.count('chunks_stored_total', Number.NaN);
    metrics.gauge('peers', Number.POSITIVE_INFINITY);
    const text = await metrics.expose();
    expect(text).not.toMatch(/^x_chunks_stored_total /m);
    expect(text).not.toMatch(/^x_peers /m);
  });

  it('refuses label names Prometheus cannot carry', async () => {
    await expect(prometheusMetrics({ labels: { 'bad-name': 'x' } })).rejects.toSatisfy((e) => isAtlasError(e, 'BAD_REQUEST'));
  });

  it('says how to install prom-client when it is absent', async () => {
    const missing = Object.assign(new Error("Cannot find package 'prom-client'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await loadPromClient(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(isAtlasError(error, 'INTERNAL')).toBe(true);
    expect((error as Error).message).toContain('npm install prom-client');
  });

  it('refuses a module that is not prom-client', async () => {
    await expect(loadPromClient(() => Promise.resolve({ default: {} }))).rejects.toThrow(/lacks Registry/);
  });
});
