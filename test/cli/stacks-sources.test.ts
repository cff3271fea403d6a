/**
 * `atlas node --stacks-node <url> --mirror <template>`: each source is built once, when the flags
 * are checked, and those very objects are the node's sources. The node runs in this process, with
 * the stop signal already given, so it opens, starts and closes at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runNode } from '../../src/cli/actions/node.js';
import { mirrorSource, stacksNodeSource } from '../../src/sync/sources/http-sources.js';
import { AtlasNode } from '../../src/node/atlas-node.js';

vi.mock('../../src/sync/sources/http-sources.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/sync/sources/http-sources.js')>();
  return { ...actual, stacksNodeSource: vi.fn(actual.stacksNodeSource), mirrorSource: vi.fn(actual.mirrorSource) };
});
vi.mock('../../src/cli/signals.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/cli/signals.js')>();
  return { ...actual, untilSignal: () => ({ promise: Promise.resolve('SIGTERM' as const), dispose: () => undefined }) };
});

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('atlas node with --stacks-node and --mirror', () => {
  it('builds each source once and gives the node those', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'atlas-stacks-sources-'));
    dirs.push(dataDir);
    const open = vi.spyOn(AtlasNode, 'open');

    await runNode({
      dataDir,
      listen: '127.0.0.1:0',
      network: 'testnet',
      chainPoll: 1,
      logLevel: 'silent',
      stacksNode: ['http://127.0.0.1:20443'],
      mirror: ['http://127.0.0.1:8080/v1/zonefiles/{hash}'],
    });

    expect(vi.mocked(stacksNodeSource)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(mirrorSource)).toHaveBeenCalledTimes(1);
    const built = [vi.mocked(stacksNodeSource).mock.results[0]!.value, vi.mocked(mirrorSource).mock.results[0]!.value];
    expect(open).toHaveBeenCalledTimes(1);
    const sources = open.mock.calls[0]![0].sources ?? [];
    expect(sources).toHaveLength(2);
    // The same objects, not equal copies.
    expect(sources[0]).toBe(built[0]);
    expect(sources[1]).toBe(built[1]);
  });
});
