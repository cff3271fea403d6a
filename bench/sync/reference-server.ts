/**
 * The reference of the sync benchmark, server side: every chunk in sequence order as
 * [u32 length][bytes] frames over one plain node:http response. Frames are built before the
 * clock starts, so the reference measures only the wire and the client's verification. When
 * stopped it prints the CPU it spent serving, from the moment it listened.
 * node --import tsx bench/sync/reference-server.ts <dataDir> <chainFile>
 */
import { createServer } from 'node:http';
import { chunksInSequence } from './dataset.js';
import { reportServingOnStop } from './window.js';

const [dataDir, chainFile] = process.argv.slice(2) as [string, string];
const parts: Buffer[] = [];
for (const data of await chunksInSequence(dataDir, chainFile)) {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(data.byteLength);
  parts.push(header, data);
}
const body = Buffer.concat(parts);

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  const slice = 1 << 20;
  let offset = 0;
  const pump = (): void => {
    while (offset < body.length) {
      const ok = res.write(body.subarray(offset, offset + slice));
      offset += slice;
      if (!ok) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
// What serving costs is measured from here, as for the serving peers (peer.ts): building the frames is not.
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  reportServingOnStop(() => new Promise((resolve) => server.close(resolve)));
  process.stdout.write(JSON.stringify({ address: `127.0.0.1:${address.port}` }) + '\n');
});
