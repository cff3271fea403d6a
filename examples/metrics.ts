/**
 * Observability: a node reporting through prom-client (an optional dependency: `npm install
 * prom-client`), its HttpTransport serving the Prometheus text at GET /metrics, and a structured
 * log of its own events.
 *
 *   npx tsx examples/metrics.ts
 */
import { AtlasNode, HttpTransport, MemoryChain, hash160Hex, prometheusMetrics, type Logger } from 'atlasnet';

// The library is silent unless given a logger; this one writes JSON lines to stderr.
const logger: Logger = {
  debug: () => {},
  info: (msg, fields) => process.stderr.write(JSON.stringify({ level: 'info', msg, ...fields }) + '\n'),
  warn: (msg, fields) => process.stderr.write(JSON.stringify({ level: 'warn', msg, ...fields }) + '\n'),
  error: (msg, fields) => process.stderr.write(JSON.stringify({ level: 'error', msg, ...fields }) + '\n'),
};

const chunks = ['alice', 'bob', 'carol'].map((name) => Buffer.from(`$ORIGIN ${name}.id\n$TTL 3600\n`));
const chain = new MemoryChain();
chain.announce(chunks.map((c) => hash160Hex(c)));

const metrics = await prometheusMetrics({ labels: { node: 'example' } });
const node = await AtlasNode.open({ chain, transport: new HttpTransport({ listen: '127.0.0.1:0' }), network: 'example', metrics, logger });
await node.start();
await node.putChunks(chunks);

const response = await fetch(`http://${node.address}/metrics`);
const text = await response.text();
console.log(`GET /metrics -> ${response.status}`);
for (const line of text.split('\n')) {
  if (/^atlas_(chunks_stored_total|chunks_held|sequence_length)\{/.test(line)) console.log(line);
}
await node.close();
