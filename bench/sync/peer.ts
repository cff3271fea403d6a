/**
 * A serving peer for the sync benchmark: node --import tsx bench/sync/peer.ts <dataDir> <chainFile>
 * Prints one JSON line once it serves (its address), and one when stopped: the CPU it spent serving.
 */
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { HttpTransport } from '../../src/transport/http.js';
import { AddressFileChain } from './file-chain.js';
import { reportServingOnStop } from './window.js';

const [dataDir, chainFile] = process.argv.slice(2) as [string, string];
const node = await AtlasNode.open({
  dataDir,
  chain: new AddressFileChain(chainFile),
  transport: new HttpTransport({ listen: '127.0.0.1:0', limits: { maxInFlight: 256 } }),
  network: 'bench',
  addressPolicy: LOCAL_ADDRESS_POLICY,
  // A default node lets one host ask for 50,000 addresses a second after a burst of 500,000
  // (DEFAULT_REQUEST_LIMITS): that budget, not the sync, would bound a 1,000,000-chunk catch-up
  // from one peer (about 93,000 chunks/s). The benchmark measures the sync, as a seed meant to
  // bootstrap nodes quickly would be configured.
  requests: { ratePerSecond: 1_000_000, burst: 1_000_000 },
});
await node.start();
// What serving costs is measured from here: opening the store and deriving its inventory are not.
reportServingOnStop(() => node.close());
process.stdout.write(JSON.stringify({ address: node.address, have: node.stats().have }) + '\n');
