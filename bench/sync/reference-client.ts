/**
 * The reference of the sync benchmark, client side: streams every frame over one plain
 * node:http connection and verifies each chunk against its address (transfer + verify). With a
 * log file, it also appends each batch of verified chunks to it as records ([u32 length][address]
 * [bytes]) and makes them durable (fdatasync) before reading on: the least a durable catch-up
 * does, with no protocol, index or inventory.
 * node --import tsx bench/sync/reference-client.ts <server> <chainFile> [logFile]
 */
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hash160Batch } from '../../src/hash/index.js';
import { streamFrames } from './frame-stream.js';
import { startWindow } from './window.js';

const [server, chainFile, logFile] = process.argv.slice(2) as [string, string, string | undefined];
const addresses = readFileSync(chainFile);
const BATCH = 1_000;
const log = logFile === undefined ? undefined : openSync(logFile, 'w');

const endWindow = startWindow();
let verified = 0;
let mismatched = 0;
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

const bytes = await streamFrames(server, (chunk) => {
  batch.push(chunk);
  if (batch.length === BATCH) flush();
});
flush();
const measured = endWindow();
if (log !== undefined) closeSync(log);
process.stdout.write(JSON.stringify({ ...measured, verified, mismatched, bytes }) + '\n');
