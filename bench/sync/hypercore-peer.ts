/**
 * The sync benchmark's comparison with Hypercore, serving side: the dataset's chunks, in sequence
 * order, appended to a Hypercore (before the clock), replicated to whoever connects over plain TCP.
 * Prints its address and the core's key once it listens, and when stopped the CPU it spent
 * serving from then on (as the serving peers do).
 * node bench/sync/hypercore-peer.js <modulesDir> <dataDir> <chainFile> <coreDir>
 */
import { createServer } from 'node:net';
import { chunksInSequence } from './dataset.js';
import { loadHypercore } from './hypercore-module.js';
import { reportServingOnStop } from './window.js';

const [modulesDir, dataDir, chainFile, coreDir] = process.argv.slice(2) as [string, string, string, string];
const Hypercore = loadHypercore(modulesDir);
const chunks = await chunksInSequence(dataDir, chainFile);
const core = new Hypercore(coreDir);
await core.ready();
const BATCH = 1_000;
for (let from = 0; from < chunks.length; from += BATCH) await core.append(chunks.slice(from, from + BATCH));

const server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(core.replicate(false)).pipe(socket);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  reportServingOnStop(() => {
    server.close();
    return core.close();
  });
  process.stdout.write(JSON.stringify({ address: `127.0.0.1:${port}`, key: core.key.toString('hex'), length: core.length }) + '\n');
});
