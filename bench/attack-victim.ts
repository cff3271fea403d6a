/**
 * The victim of bench/attack.ts, in its own process so that its RSS is its own: a node over
 * HttpTransport on 127.0.0.1 at default limits, per-host ones applied to loopback callers
 * (test/security/hostile/victim.ts). Prints
 * {"port": n} once listening, then answers each IPC message "sample" with its RSS and the
 * server's counters, and exits on "stop".
 */
import { startVictim } from '../test/security/hostile/victim.js';

// Default limits, but per-host ones on loopback too: the attacker and the honest client play two
// hosts, 127.0.0.1 and 127.0.0.2.
const victim = await startVictim({ chunkCount: 100, limits: { perHostLimitsOnLoopback: true } });
process.on('message', (message) => {
  if (message === 'sample') process.send?.({ rss: process.memoryUsage.rss(), server: victim.transport.serverStats() });
  if (message === 'stop') void victim.close().then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ port: victim.port, addresses: victim.chunks.map((c) => c.address) })}\n`);
