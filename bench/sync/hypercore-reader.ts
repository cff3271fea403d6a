/**
 * The sync benchmark's comparison with Hypercore, catching-up side: a new Hypercore of the serving
 * core's key downloads every block over one TCP connection (Hypercore checks each block against
 * the writer's signed Merkle tree, as atlasnet checks each chunk against its announced address).
 * The window runs from the connection to the last block stored. Prints one JSON line.
 * node bench/sync/hypercore-reader.js <modulesDir> <peer> <keyHex> <count> <coreDir>
 */
import { connect } from 'node:net';
import { loadHypercore } from './hypercore-module.js';
import { startWindow } from './window.js';

const [modulesDir, peer, keyHex, countArg, coreDir] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countArg);
const Hypercore = loadHypercore(modulesDir);
const core = new Hypercore(coreDir, Buffer.from(keyHex, 'hex'));
await core.ready();

const endWindow = startWindow();
const [host, port] = peer.split(':') as [string, string];
const socket = connect(Number(port), host);
socket.pipe(core.replicate(true)).pipe(socket);
await core.download({ start: 0, end: count }).done();
const measured = endWindow();
const have = core.contiguousLength;
socket.destroy();
await core.close();
process.stdout.write(JSON.stringify({ ...measured, have }) + '\n');
