/**
 * The victim of bench/attack.ts, in its own process so that its RSS is its own: a node over
 * HttpTransport on 127.0.0.1 at default limits, per-host ones applied to loopback callers
 * (test/security/hostile/victim.ts). Prints {"port": n, "addresses": [...]} once listening, then
 * answers each IPC message "sample" with its RSS, the server's counters and the longest and
 * 99th-percentile delay of its event loop since the last "mark" (which answers {}); on SIGTERM
 * (or when the benchmark goes away) it closes its node, removes its store and exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { startVictim } from '../test/security/hostile/victim.js';

// Default limits, but per-host ones on loopback too: the attacker and the honest client play two
// hosts, 127.0.0.1 and 127.0.0.2.
// Its store in a folder of its own (LMDB and the chunk log), as a deployed node keeps it.
const dataDir = mkdtempSync(join(tmpdir(), 'atlasnet-attack-victim-'));
const victim = await startVictim({ chunkCount: 100, limits: { perHostLimitsOnLoopback: true }, dataDir });
let loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const ms = (nanoseconds: number) => nanoseconds / 1e6;
process.on('message', (message) => {
  if (message === 'mark') {
    loopDelay.disable();
    loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    process.send?.({});
  }
  if (message === 'sample') {
    process.send?.({
      rss: process.memoryUsage.rss(),
      server: victim.transport.serverStats(),
      loopDelayMaxMs: ms(loopDelay.max),
      loopDelayP99Ms: ms(loopDelay.percentile(99)),
    });
  }
});
process.once('SIGTERM', stop);
// A benchmark that went away leaves no node running and no store behind.
process.on('disconnect', stop);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  loopDelay.disable();
  void victim.close().then(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}
process.stdout.write(`${JSON.stringify({ port: victim.port, addresses: victim.chunks.map((c) => c.address) })}\n`);
