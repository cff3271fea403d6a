/**
 * The reference clients' one read of the reference server's stream (reference-server.ts): every
 * chunk in sequence order as [u32 length][bytes] frames over one plain node:http response.
 */
import { request, type IncomingMessage } from 'node:http';

/**
 * Reads the whole stream from `server` (host:port), calling `onFrame` with each chunk (a view of
 * what was received) in order, and `afterData` after each piece received (a client that must
 * wait for its writes pauses the response there). Answers the bytes received.
 */
export function streamFrames(server: string, onFrame: (chunk: Buffer) => void, afterData?: (response: IncomingMessage) => void): Promise<number> {
  const [host, port] = server.split(':') as [string, string];
  let bytes = 0;
  let pending: Buffer = Buffer.alloc(0);
  return new Promise<number>((resolve, reject) => {
    const req = request({ host, port: Number(port), path: '/', method: 'GET' }, (res) => {
      res.on('data', (data: Buffer) => {
        bytes += data.length;
        pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
        let offset = 0;
        while (pending.length - offset >= 4) {
          const size = pending.readUInt32BE(offset);
          if (pending.length - offset - 4 < size) break;
          onFrame(pending.subarray(offset + 4, offset + 4 + size));
          offset += 4 + size;
        }
        pending = pending.subarray(offset);
        afterData?.(res);
      });
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Reads the whole stream as streamFrames does, handing the chunks over in batches of
 * `batchSize` (the last one shorter) to `write`, with the position of each batch's first chunk;
 * at most `maxPending` writes wait at once (the response is paused meanwhile), as a downloader's
 * replies wait for the store. Resolves with the bytes received once every write has; rejects
 * with the first write's failure.
 */
export async function streamIntoWrites(
  server: string,
  options: { batchSize: number; maxPending: number },
  write: (chunks: Buffer[], firstPosition: number) => Promise<void>,
): Promise<number> {
  const writes = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let batch: Buffer[] = [];
  let position = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    const pending = write(batch, position - batch.length).catch((error: unknown) => {
      failure ??= { error };
    });
    batch = [];
    writes.add(pending);
    void pending.finally(() => writes.delete(pending));
  };
  const bytes = await streamFrames(
    server,
    (chunk) => {
      position++;
      batch.push(chunk);
      if (batch.length === options.batchSize) flush();
    },
    (response) => {
      if (writes.size < options.maxPending) return;
      response.pause();
      void Promise.race(writes).then(() => response.resume());
    },
  );
  flush();
  await Promise.all(writes);
  if (failure !== undefined) throw failure.error;
  return bytes;
}
