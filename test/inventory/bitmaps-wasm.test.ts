// The inventory suites (vector codec, rarest-first, roaring <-> bytes) on the wasm bitmap backend.
import { runSuitesOn } from './backend.js';

await runSuitesOn('wasm', async () => {
  await import('./inventory.suite.js');
  await import('./rarest.suite.js');
  await import('./roaring-bytes.suite.js');
});
