/**
 * The reference of the sync benchmark, client side: streams every frame over one plain
 * node:http connection and verifies each chunk against its address (transfer + verify).
 * node --import tsx bench/sync/reference-client.ts <server> <chainFile>
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { hash160Batch } from '../../src/hash/index.js';
import { startWindow } from './window.js';

const [server, chainFile] = process.argv.slice(2) as [string, string];
const addresses = readFileSync(chainFile);
const [host, port] = server.split(':') as [string, string];
const BATCH = 1_000;

const endWindow = startWindow();
let verified = 0;
let mismatched = 0;
let bytes = 0;
let pending: Buffer = Buffer.alloc(0);
let batch: Buffer[] = [];

function flush(): void {
  const hashes = hash160Batch(batch);
  for (let i = 0; i < hashes.length; i++) {
    const expected = addresses.subarray((verified + mismatched) * 20, (verified + mismatched) * 20 + 20);
    if (Buffer.compare(Buffer.from(hashes[i]!.buffer, hashes[i]!.byteOffset, 20), expected) === 0) verified++;
    else mismatched++;
  }
  batch = [];
}

await new Promise<void>((resolve, reject) => {
  const req = request({ host, port: Number(port), path: '/', method: 'GET' }, (res) => {
    res.on('data', (data: Buffer) => {
      bytes += data.length;
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      let offset = 0;
      while (pending.length - offset >= 4) {
        const size = pending.readUInt32BE(offset);
        if (pending.length - offset - 4 < size) break;
        batch.push(pending.subarray(offset + 4, offset + 4 + size));
        offset += 4 + size;
        if (batch.length === BATCH) flush();
      }
      pending = pending.subarray(offset);
    });
    res.on('end', () => {
      flush();
      resolve();
    });
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end();
});
process.stdout.write(JSON.stringify({ ...endWindow(), verified, mismatched, bytes }) + '\n');
