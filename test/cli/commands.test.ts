/**
 * Every `atlas` command run as a real process (the TypeScript sources through tsx): help, bad
 * usage, unreachable peers, bad files, and announce/put/get/peers/inspect against two running
 * `atlas node` processes that replicate between themselves and shut down cleanly on signals.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash160Hex } from '../../src/hash/index.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { HttpTransport } from '../../src/transport/http.js';
import { errorLines, expectOneLineFailure, lines, runAtlas, startAtlasNode, type RunResult, type RunningNode } from './helpers.js';

const COMMANDS = ['node', 'demo', 'inspect', 'announce', 'put', 'get', 'peers', 'status'];

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const dir = mkdtempSync(join(tmpdir(), 'atlas-cli-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atlas --help', () => {
  it('documents the program and every command, exiting 0', async () => {
    const results = await Promise.all([runAtlas(['--help']), ...COMMANDS.map((c) => runAtlas([c, '--help']))]);
    expect(results[0]?.code).toBe(0);
    for (const command of COMMANDS) expect(results[0]?.stdout).toContain(command);
    COMMANDS.forEach((command, i) => {
      const result = results[i + 1] as RunResult;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Usage: atlas ${command}`);
      expect(result.stdout).toContain('--help');
    });
    expect(results.find((r) => r.stdout.includes('Usage: atlas demo'))?.stdout).toContain('--timeout');
  });
});

describe('bad usage and bad files', () => {
  it('gives one line and exit code 2 for bad arguments', async () => {
    const aFile = join(dir, 'not-a-folder.txt');
    writeFileSync(aFile, 'x');
    const [unknownCommand, unknownOption, badNumber, badAddress, missingPeer, badPeer, badCache, badChunkCache, fileAsDataDir, badWait] = await Promise.all([
      runAtlas(['frobnicate']),
      runAtlas(['demo', '--nodez', '3']),
      runAtlas(['demo', '--nodes', '1']),
      runAtlas(['get', 'not-an-address', '--peer', '127.0.0.1:1']),
      runAtlas(['get', 'a'.repeat(40), '--peer']),
      runAtlas(['peers', 'localhost']),
      runAtlas(['node', '--sequence-cache-mb', 'lots']),
      runAtlas(['node', '--chunk-cache-mb', '-1']),
      runAtlas(['node', '--data-dir', aFile, '--listen', '127.0.0.1:0']),
      runAtlas(['put', aFile, '--wait', '-1']),
    ]);
    expectOneLineFailure(unknownCommand as RunResult, 2, /unknown command 'frobnicate'/);
    expectOneLineFailure(unknownOption as RunResult, 2, /unknown option '--nodez'.*--nodes/);
    expectOneLineFailure(badNumber as RunResult, 2, /--nodes.*from 2 to 32/);
    expectOneLineFailure(badAddress as RunResult, 2, /40 hex characters/);
    expectOneLineFailure(missingPeer as RunResult, 2, /--peer/);
    expectOneLineFailure(badPeer as RunResult, 2, /host:port/);
    expectOneLineFailure(badCache as RunResult, 2, /--sequence-cache-mb.*whole number/);
    expectOneLineFailure(badChunkCache as RunResult, 2, /--chunk-cache-mb.*whole number/);
    expectOneLineFailure(fileAsDataDir as RunResult, 2, /--data-dir .*not-a-folder\.txt is a file, not a folder/);
    expect(readFileSync(aFile, 'utf8')).toBe('x'); // untouched
    expectOneLineFailure(badWait as RunResult, 2, /--wait.*expected 0 \(no wait\) or seconds between 0\.001 and 3600, got "-1"/);
  });

  it('gives one line and exit code 1 for missing, empty, oversized and corrupt files', async () => {
    const empty = join(dir, 'empty.txt');
    const big = join(dir, 'big.bin');
    const corruptChain = join(dir, 'corrupt-chain.jsonl');
    const corruptCorpus = join(dir, 'corrupt-corpus.txt');
    writeFileSync(empty, '');
    writeFileSync(big, Buffer.alloc(40_961, 1));
    writeFileSync(corruptChain, '{"position":0,"address":"zz"}\n{"position":1,"address":"' + 'a'.repeat(40) + '"}\n');
    writeFileSync(corruptCorpus, `${'b'.repeat(40)}\nthis zone file does not hash to that address\n`);
    const [missing, isEmpty, tooBig, chain, corpus] = await Promise.all([
      runAtlas(['put', join(dir, 'nope.txt'), '--peer', '127.0.0.1:1']),
      runAtlas(['announce', empty, '--chain', join(dir, 'unused.jsonl')]),
      runAtlas(['announce', big, '--chain', join(dir, 'unused.jsonl')]),
      runAtlas(['node', '--data-dir', join(dir, 'corrupt-node'), '--listen', '127.0.0.1:0', '--chain', corruptChain]),
      runAtlas(['demo', '--data', corruptCorpus, '--nodes', '2']),
    ]);
    expectOneLineFailure(missing as RunResult, 1, /nope\.txt: no such file/);
    expectOneLineFailure(isEmpty as RunResult, 1, /empty\.txt: empty/);
    expectOneLineFailure(tooBig as RunResult, 1, /40961 bytes, larger than the 40960-byte chunk limit/);
    expectOneLineFailure(chain as RunResult, 1, /corrupt-chain\.jsonl.*line 1/);
    expectOneLineFailure(corpus as RunResult, 1, /does not hash to its address/);
  });

  it('gives one line and exit code 1 for an unreachable peer', async () => {
    const peer = `127.0.0.1:${await closedPort()}`;
    const file = join(dir, 'one.txt');
    writeFileSync(file, 'one');
    const results = await Promise.all([
      runAtlas(['peers', peer]),
      runAtlas(['put', file, '--peer', peer]),
      runAtlas(['get', 'c'.repeat(40), '--peer', peer]),
      runAtlas(['inspect', peer]),
    ]);
    for (const result of results) expectOneLineFailure(result, 1, new RegExp(`cannot reach ${peer.replace(/\./g, '\\.')}: ECONNREFUSED`));
  });
});

describe('against two running nodes', () => {
  const chain = join(dir, 'chain.jsonl');
  const files = { a: join(dir, 'a.zone'), b: join(dir, 'b.zone'), c: join(dir, 'c.zone') };
  const contents = { a: '$ORIGIN a.id\nalpha\n', b: '$ORIGIN b.id\nbravo\n', c: '$ORIGIN c.id\ncharlie\n' };
  const addresses = { a: hash160Hex(Buffer.from(contents.a)), b: hash160Hex(Buffer.from(contents.b)), c: hash160Hex(Buffer.from(contents.c)) };
  const transport = new HttpTransport();
  const client = new ProtocolClient(transport);
  const running: RunningNode[] = [];
  let first: RunningNode;
  let second: RunningNode;

  /** Polls `check` every 100 ms, at most `limitMs`. */
  async function until(what: string, check: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
    for (let waited = 0; waited <= limitMs; waited += 100) {
      if (await check().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }
  const holds = async (peer: string, count: number) => {
    const inv = await client.inventory(peer, { offset: 0, length: 64 });
    return inv.sequenceLength === count && (await client.getChunks(peer, { addresses: Object.values(addresses).slice(0, count) })).chunks.length === count;
  };

  beforeAll(async () => {
    for (const key of ['a', 'b', 'c'] as const) writeFileSync(files[key], contents[key]);
    const announced = await runAtlas(['announce', files.a, files.b, '--chain', chain, '--json']);
    expect(announced.code, announced.stderr).toBe(0);
    expect(JSON.parse(announced.stdout)).toEqual([
      { file: files.a, address: addresses.a, position: 0 },
      { file: files.b, address: addresses.b, position: 1 },
    ]);
    const common = ['--listen', '127.0.0.1:0', '--chain', chain, '--network', 'clitest', '--refresh', '0.5', '--chain-poll', '0.2', '--log-level', 'debug'];
    first = await startAtlasNode(['--data-dir', join(dir, 'node-a'), '--metrics', ...common]);
    running.push(first);
    second = await startAtlasNode(['--data-dir', join(dir, 'node-b'), '--seed', first.address, ...common]);
    running.push(second);
  });

  afterAll(async () => {
    await Promise.all(running.map((n) => (n.child.exitCode === null ? n.stop('SIGKILL') : undefined)));
    await transport.close();
  });

  it('puts files: announced ones are saved, the other is refused (exit 1, one summary line)', async () => {
    const put = await runAtlas(['put', files.a, files.b, files.c, '--peer', first.address, '--json', '--wait', '0']);
    expect(put.code).toBe(1);
    expect(JSON.parse(put.stdout)).toEqual([
      { file: files.a, address: addresses.a, bytes: contents.a.length, saved: true },
      { file: files.b, address: addresses.b, bytes: contents.b.length, saved: true },
      { file: files.c, address: addresses.c, bytes: contents.c.length, saved: false },
    ]);
    expectOneLineFailure(put, 1, /1 of 3 chunks refused/);
  });

  it('announces a file while the nodes run; they follow the chain file and then admit it', async () => {
    const announced = await runAtlas(['announce', files.c, '--chain', chain]);
    expect(announced.code, announced.stderr).toBe(0);
    expect(announced.stdout).toMatch(new RegExp(`^\\s*2\\s+${addresses.c}\\s+.*c\\.zone$`, 'm'));
    await until('node a to read the new announcement', async () => (await client.inventory(first.address, { offset: 0, length: 1 })).sequenceLength === 3);
    const put = await runAtlas(['put', files.c, '--peer', first.address]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toMatch(new RegExp(`^saved\\s+${addresses.c}`, 'm'));
  });

  it('gets a replicated chunk from the other node, to stdout and to a file', async () => {
    await until('node b to hold all three chunks', () => holds(second.address, 3));
    const out = join(dir, 'got.zone');
    const [toStdout, toFile, absent] = await Promise.all([
      runAtlas(['get', addresses.a, '--peer', second.address]),
      runAtlas(['get', addresses.b.toUpperCase(), '--peer', second.address, '-o', out]),
      runAtlas(['get', 'd'.repeat(40), '--peer', second.address]),
    ]);
    expect(toStdout.code, toStdout.stderr).toBe(0);
    expect(toStdout.stdout).toBe(contents.a);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(contents.b);
    expectOneLineFailure(absent, 1, /nor the \d+ peer\(s\) it knows hold d{40}/);
  });

  it('lists peers and inspects both inventories', async () => {
    await until('node a to list node b', async () => (await client.peers(first.address, {})).peers.includes(second.address));
    const [peers, peersText, inspect, inspectText] = await Promise.all([
      runAtlas(['peers', first.address, '--json']),
      runAtlas(['peers', first.address]),
      runAtlas(['inspect', first.address, second.address, '--json']),
      runAtlas(['inspect', first.address, second.address]),
    ]);
    expect(peers.code, peers.stderr).toBe(0);
    expect(JSON.parse(peers.stdout)).toEqual({ peer: first.address, peers: expect.arrayContaining([second.address]) as unknown });
    expect(lines(peersText.stdout)).toContain(second.address);
    expect(inspect.code, inspect.stderr).toBe(0);
    const report = JSON.parse(inspect.stdout) as { nodes: unknown[]; pairs: unknown[]; missingEverywhere: number; unreachable: string[] };
    expect(report.nodes).toEqual([
      { peer: first.address, sequenceLength: 3, present: 3, missing: 0 },
      { peer: second.address, sequenceLength: 3, present: 3, missing: 0 },
    ]);
    expect(report.pairs).toEqual([{ a: first.address, b: second.address, onlyA: 0, onlyB: 0, firstDifferences: [] }]);
    expect(report.missingEverywhere).toBe(0);
    expect(report.unreachable).toEqual([]);
    expect(inspectText.stdout).toMatch(new RegExp(`^${first.address.replace(/\./g, '\\.')}\\s+3\\s+3\\s+0$`, 'm'));
  });

  it('serves Prometheus metrics with --metrics', async () => {
    const response = await fetch(`http://${first.address}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^atlas_chunks_held 3$/m);
    expect(text).toMatch(/^atlas_sequence_length 3$/m);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('shuts down cleanly on SIGTERM and SIGINT, exiting 0', async () => {
    const [a, b] = await Promise.all([first.stop('SIGTERM'), second.stop('SIGINT')]);
    for (const [result, signal] of [
      [a, 'SIGTERM'],
      [b, 'SIGINT'],
    ] as const) {
      expect(result.code, result.stderr).toBe(0);
      const events = errorLines(result.stderr).map((l) => JSON.parse(l) as { msg: string; signal?: string; level: string });
      expect(events.find((e) => e.msg === 'shutting down')?.signal).toBe(signal);
      expect(events[events.length - 1]?.msg).toBe('stopped');
      expect(events.filter((e) => e.level === 'error')).toEqual([]);
    }
  });
});
