/**
 * Child process of crash.test.ts: one real node on an LMDB data dir and a DevChain file, syncing
 * over HTTP from the seed given on the command line, until it is killed (SIGKILL) or told to
 * stop (SIGTERM: close cleanly, exit 0). Prints one JSON line when it serves:
 *   {"event":"listening","address":"127.0.0.1:<port>"}
 * Usage: crash-node <dataDir> <chainFile> <seed>
 */
import { DevChain } from '../../src/chain/dev.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { HttpTransport } from '../../src/transport/http.js';

const [dataDir, chainFile, seed] = process.argv.slice(2);
if (!dataDir || !chainFile || !seed) throw new Error('usage: crash-node <dataDir> <chainFile> <seed>');

const chain = await DevChain.open(chainFile);
const node = await AtlasNode.open({
  dataDir,
  chain,
  transport: new HttpTransport({ listen: '127.0.0.1:0' }),
  seeds: [seed],
  network: 'crashnet',
  addressPolicy: LOCAL_ADDRESS_POLICY,
  timers: { roundMs: 50, inventoryRefreshMs: 200, neighborRenewMs: 60_000, refusalMs: 1_000 },
});
await node.start();
process.stdout.write(JSON.stringify({ event: 'listening', address: node.address }) + '\n');

process.once('SIGTERM', () => {
  void node.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
