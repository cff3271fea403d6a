/**
 * The reference of the sync benchmark, client side: streams every frame over one plain
 * node:http connection and verifies each chunk against its address (transfer + verify). With a
 * log file, it also appends each batch of verified chunks to it as records ([u32 length][address]
 * [bytes]) and makes them durable (fdatasync) before reading on: the least a durable catch-up
 * does, with no protocol, index or inventory.
 * node --import tsx bench/sync/reference-client.ts <server> <chainFile> [logFile]
 */
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { hash160Batch } from '../../src/hash/index.js';
import { startWindow } from './window.js';

const [server, chainFile, logFile] = process.argv.slice(2) as [string, string, string | undefined];
const addresses = readFileSync(chainFile);
const [host, port] = server.split(':') as [string, string];
const BATCH = 1_000;
const log = logFile === undefined ? undefined : openSync(logFile, 'w');

const endWindow = startWindow();
let verified = 0;
let mismatched = 0;
let bytes = 0;
let pending: Buffer = Buffer.alloc(0);
let batch: Buffer[] = [];

function flush(): void {
  const hashes = hash160Batch(batch);
  const records = log === undefined ? undefined : Buffer.allocUnsafe(batch.reduce((sum, chunk) => sum + 24 + chunk.length, 0));
  let at = 0;
  for (let i = 0; i < hashes.length; i++) {
    const expected = addresses.subarray((verified + mismatched) * 20, (verified + mismatched) * 20 + 20);
    if (Buffer.compare(Buffer.from(hashes[i]!.buffer, hashes[i]!.byteOffset, 20), expected) !== 0) {
      mismatched++;
      continue;
    }
    verified++;
    if (records === undefined) continue;
    const chunk = batch[i]!;
    records.writeUInt32LE(chunk.length, at);
    expected.copy(records, at + 4);
    records.set(chunk, at + 24);
    at += 24 + chunk.length;
  }
  if (log !== undefined && records !== undefined) {
    writeSync(log, records, 0, at);
    fdatasyncSync(log);
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
const measured = endWindow();
if (log !== undefined) closeSync(log);
process.stdout.write(JSON.stringify({ ...measured, verified, mismatched, bytes }) + '\n');
