/**
 * The reference of the sync benchmark with atlasnet's store underneath: the same stream as
 * reference-client.ts (one plain node:http response of every chunk in sequence order), each batch
 * verified by the library's check (checkReply) and put into a chunk store as the downloader
 * puts a reply (putReceived: columns, bytes handed over, positions as hints, at most MAX_PENDING_WRITES
 * batches waiting for their commit, which group commit merges). No protocol, planner, peer or
 * HTTP request per batch: what is left of a catch-up's cost when everything above the store is a
 * stream, so its ratio to the plain reference says how much of atlasnet's cost the store is.
 * The sequence is appended before the clock starts, as a node's open catches up with its chain,
 * and each chunk's address is read from the store's sequence, as the downloader plans it.
 * node --import tsx bench/sync/reference-store-client.ts <server> <chainFile> <dataDir>
 */
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { putReceived, Received } from '../../src/store/received.js';
import { checkReply } from '../../src/sync/verify.js';
import { AddressFileChain } from './file-chain.js';
import { streamIntoWrites } from './frame-stream.js';
import { startWindow } from './window.js';

const [server, chainFile, dataDir] = process.argv.slice(2) as [string, string, string];
/** The downloader's request size (DEFAULT_LIMITS.maxGetAddresses) and its bound on replies waiting to be stored. */
const BATCH = 500;
const MAX_PENDING_WRITES = 32;
const APPEND_PAGE = 10_000;

const chain = new AddressFileChain(chainFile);
const store = await LmdbChunkStore.open({ path: dataDir, chunkStorage: 'log' });
for (let from = 0; from < chain.size; from += APPEND_PAGE) await store.append(await chain.read(from, APPEND_PAGE));

const endWindow = startWindow();
let verified = 0;
let mismatched = 0;
let stored = 0;
const bytes = await streamIntoWrites(server, { batchSize: BATCH, maxPending: MAX_PENDING_WRITES }, async (chunks, first) => {
  const asked = chunks.map((data, i) => ({ address: store.addressAt(first + i)!, data }));
  const check = checkReply(asked, asked.map((_, i) => i), asked.map((_, i) => first + i));
  verified += check.batch.count;
  mismatched += check.corrupt.length;
  const { status } = await putReceived(store, { ...check.batch, handedOver: true }, check.addresses);
  for (let i = 0; i < status.length; i++) if (status[i] === Received.ADDED) stored++;
});
const measured = endWindow();
await store.close();
process.stdout.write(JSON.stringify({ ...measured, verified, mismatched, stored, bytes }) + '\n');
