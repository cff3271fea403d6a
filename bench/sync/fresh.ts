/**
 * The fresh node of the sync benchmark, in its own process so its CPU time and RSS are its own:
 * node --import tsx bench/sync/fresh.ts <dataDir> <chainFile> <peer,peer,...> <timeoutMs> [lmdb|log]
 * Prints one JSON line: elapsed ms, CPU seconds, peak RSS, the resident memory split once synced,
 * bytes received and sent.
 */
import { residentSplit } from '../resident-memory.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { HttpTransport } from '../../src/transport/http.js';
import { AddressFileChain } from './file-chain.js';
import { startWindow } from './window.js';

const [dataDir, chainFile, peerList, timeoutArg, chunkStorageArg] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const chunkStorage = chunkStorageArg === 'log' ? 'log' : 'lmdb';
const seeds = peerList.split(',');
const timeoutMs = Number(timeoutArg);

const residentBeforeOpen = residentSplit();
const openedAt = performance.now();
const transport = new HttpTransport({ listen: '127.0.0.1:0' });
const node = await AtlasNode.open({
  dataDir,
  chunkStorage,
  chain: new AddressFileChain(chainFile),
  transport,
  seeds,
  network: 'bench',
  addressPolicy: LOCAL_ADDRESS_POLICY,
  timers: { roundMs: 200 },
});
const openMs = performance.now() - openedAt;

const endWindow = startWindow();
const cpuAtStart = process.cpuUsage();
const startedAt = performance.now();
/** When the first chunks were held: how much of a catch-up is spent before anything arrives (its first round trips, and V8 compiling what they run). */
let firstChunks: { ms: number; cpuMs: number; have: number } | undefined;
// The window ends at the progress event that shows every announced chunk held, as the reference's
// ends at its response's end (a poll would add up to its period to the window).
const caughtUp = new Promise<boolean>((resolve) => {
  const finish = (synced: boolean): void => {
    node.off('progress', onProgress);
    clearTimeout(timer);
    resolve(synced);
  };
  const onProgress = ({ have, total }: { have: number; total: number }): void => {
    if (have > 0 && firstChunks === undefined) {
      const cpu = process.cpuUsage(cpuAtStart);
      firstChunks = { ms: performance.now() - startedAt, cpuMs: (cpu.user + cpu.system) / 1000, have };
    }
    if (total > 0 && have === total) finish(true);
  };
  const timer = setTimeout(() => finish(false), timeoutMs);
  node.on('progress', onProgress);
  onProgress(node.stats());
});
await node.start();
const done = await caughtUp;
const measured = endWindow();
const residentAtEnd = residentSplit();
const stats = node.stats();
const transportStats = transport.stats();
await node.close();
process.stdout.write(
  JSON.stringify({
    done,
    openMs,
    ...measured,
    have: stats.have,
    total: stats.total,
    chunkBytes: stats.chunkBytes,
    wireBytesIn: transportStats.bytesIn,
    wireBytesOut: transportStats.bytesOut,
    requests: stats.downloads.requests,
    duplicates: stats.downloads.duplicateChunks,
    ...(firstChunks !== undefined ? { firstChunks } : {}),
    ...residentAtEnd,
    ...(residentBeforeOpen.rssFileBytes !== undefined ? { rssFileBeforeOpenBytes: residentBeforeOpen.rssFileBytes } : {}),
  }) + '\n',
);
