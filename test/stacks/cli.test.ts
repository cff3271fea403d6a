/**
 * `atlas node --stacks-observer ... --stacks-node ...`, then `atlas resolve` and `atlas missing`
 * against it, with a fake stacks-node posting to the observer and serving /v2/attachments.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hash160Hex } from '../../src/hash/index.js';
import { runAtlas, startAtlasNode, type RunningNode } from '../cli/helpers.js';
import { waitFor } from '../support/wait.js';
import { deliver, FakeChain, fakeStacksRpc } from './fake-stacks-node.js';

async function resolvable(address: string, name: string): Promise<boolean> {
  const res = await fetch(`http://${address}/v1/names/${name}/zonefile`);
  await res.arrayBuffer();
  return res.status === 200;
}

const dir = mkdtempSync(join(tmpdir(), 'atlasnet-stacks-cli-'));
const zone = (name: string) => new Uint8Array(Buffer.from(`$ORIGIN ${name}\n$TTL 3600\n_http._tcp IN URI 10 1 "https://gaia.example/${name}.json"\n`));
let node: RunningNode | undefined;
afterAll(async () => {
  if (node?.child.exitCode === null) await node.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('atlas node following a stacks-node', () => {
  it('resolves names, backfills from --stacks-node, and lists what is still missing', async () => {
    const [alice, bob, carol] = [zone('alice.id'), zone('bob.id'), zone('carol.id')];
    const rpc = await fakeStacksRpc('127.0.0.1', new Map([[hash160Hex(bob), bob]]));
    try {
      node = await startAtlasNode(['--data-dir', dir, '--listen', '127.0.0.1:0', '--stacks-observer', '127.0.0.1:0', '--stacks-node', rpc.url, '--log-level', 'info']);
      const observer = /"msg":"stacks event observer listening".*?"address":"([^"]+)"/.exec(node.stderr())?.[1];
      expect(observer).toBeDefined();
      const fake = new FakeChain();
      const block = fake.block([
        { name: 'alice.id', op: 'name-register', zonefile: alice },
        { name: 'bob.id', op: 'name-register', zonefile: bob },
        { name: 'carol.id', op: 'name-register', zonefile: carol },
      ]);
      expect(await deliver(observer!, '/new_block', block)).toBe(200);
      const [first] = fake.takeAttachments(); // only alice's zone file reaches the observer
      expect(await deliver(observer!, '/attachments/new', [first])).toBe(200);

      await waitFor(() => resolvable(node!.address, 'alice.id'), 'alice.id to resolve', 30_000, 100);
      const resolved = await runAtlas(['resolve', 'alice.id', '--peer', node.address]);
      expect(resolved.code, resolved.stderr).toBe(0);
      expect(resolved.stdout).toBe(Buffer.from(alice).toString());

      const missing = await runAtlas(['missing', '--peer', node.address, '--json']);
      expect(missing.code, missing.stderr).toBe(0);
      // carol's zone file is nowhere; bob's may already have come from the Stacks node
      const listed = (JSON.parse(missing.stdout) as { missing: { address: string }[] }).missing.map((m) => m.address);
      expect(listed).toContain(hash160Hex(carol));
      expect(listed.every((address) => address === hash160Hex(bob) || address === hash160Hex(carol))).toBe(true);

      // bob's zone file comes from the Stacks node once the downloader's grace period is over
      await waitFor(() => resolvable(node!.address, 'bob.id'), 'bob.id to resolve', 60_000, 200);
      const bobResolved = await runAtlas(['resolve', 'bob.id', '--peer', node.address, '--json']);
      expect(JSON.parse(bobResolved.stdout)).toMatchObject({ name: 'bob.id', status: 'ok', zonefile_hash: hash160Hex(bob) });

      const carolResolved = await runAtlas(['resolve', 'carol.id', '--peer', node.address]);
      expect(carolResolved.code).toBe(1);
      expect(carolResolved.stderr).toContain(`carol.id: zonefile-missing (zone file ${hash160Hex(carol)})`);
      const table = await runAtlas(['missing', '--peer', node.address]);
      expect(table.stdout).toContain(hash160Hex(carol));
      expect(table.stdout).toContain('1 announced chunk(s) not held');
      expect((await runAtlas(['resolve', 'nobody.id', '--peer', node.address])).stderr).toContain('cannot find name nobody.id');

      const stopped = await node.stop('SIGTERM');
      expect(stopped.code).toBe(0);
    } finally {
      await rpc.close();
    }
  }, 180_000);

  it('refuses a bad Stacks flag as bad usage (exit 2, one line naming it) before it creates anything', async () => {
    const cases: [string[], string][] = [
      [['--stacks-observer', 'notaport'], '--stacks-observer'],
      [['--stacks-observer', '127.0.0.1:17010', '--listen', '127.0.0.1:17010'], '--stacks-observer'],
      [['--stacks-observer-allow', 'not-an-ip'], '--stacks-observer-allow'],
      [['--stacks-node', 'http://user:secret@127.0.0.1:1/'], '--stacks-node'],
      [['--mirror', 'ftp://127.0.0.1/{hash}'], '--mirror'],
    ];
    for (const [flags, flag] of cases) {
      const data = join(dir, `refused-${flag.slice(2)}-${flags.length}`);
      const run = await runAtlas(['node', '--data-dir', data, ...flags]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(flag);
      expect(existsSync(data), flag).toBe(false);
    }
  }, 60_000);
});
