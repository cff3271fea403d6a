/** Child process for lock.test.ts: tries to open the store in argv[2], prints the outcome as JSON. */
import { LmdbChunkStore } from '../../src/store/lmdb.js';

try {
  const store = await LmdbChunkStore.open({ path: process.argv[2] as string });
  await store.close();
  process.stdout.write(`${JSON.stringify({ opened: true, pid: process.pid })}\n`);
} catch (error) {
  const { code, message, details } = error as { code?: string; message: string; details?: unknown };
  process.stdout.write(`${JSON.stringify({ opened: false, code, message, details })}\n`);
}
