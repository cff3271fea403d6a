/**
 * The CLI reading a node that answers hostile JSON: strings holding terminal escape sequences are
 * shown, never obeyed (every control character but tab and line ends becomes '?', and those too
 * inside a field; JSON output escapes them), and fields of the wrong type are skipped rather than
 * crashing the command. A zone file piped out stays exact.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAtlas } from './helpers.js';

const ESCAPES = '\x1b]0;owned\x07\x1b[2J\x1b[31mred\u009b';
/** A remote field holding line ends, trying to add a line of its own to the output. */
const FORGED = 'x\r\nchunks  999 of 999 announced positions held\n';
let server: http.Server;
let peer: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.host?.startsWith('127.0.0.2') === true) {
      if (req.url?.startsWith('/v1/atlas/missing')) {
        send(200, { total: FORGED, missing: [{ address: 'cd'.repeat(20), positions: [1], ageMs: 1_000, attempts: 1, nextAttemptAt: 0, lastError: FORGED }] });
      } else if (req.url === '/status') send(200, { state: FORGED, network: FORGED, have: 1, total: 2, peers: 3, neighbors: [FORGED], chunksPerSecond: 1 });
      else send(200, { status: 'ok', address: FORGED, zonefile_hash: FORGED, zonefile: '$ORIGIN a.id\n' });
    } else if (req.url?.startsWith('/v1/atlas/missing')) {
      send(200, {
        missing: [null, 7, { address: 'ab'.repeat(20), positions: [1], ageMs: 1_000, attempts: 2, lastAttemptAt: 0, nextAttemptAt: 5_000, lastError: `src: ${ESCAPES}` }],
      });
    } else if (req.url === '/status') send(200, { state: `running${ESCAPES}`, network: ESCAPES, have: 1, total: 2, peers: 3, neighbors: 'not-a-list', chunksPerSecond: 'fast' });
    else if (req.url?.startsWith('/v1/names/nobody')) send(404, { error: `no such name ${ESCAPES}` });
    else if (req.url?.startsWith('/v1/names/object.id')) send(200, { status: { state: 'odd' } });
    else if (req.url?.startsWith('/v1/names/gone.id')) send(404, { error: { reason: 'gone' } });
    else if (req.url?.startsWith('/v1/names/')) send(200, { status: 'ok', address: ESCAPES, zonefile_hash: 'ab'.repeat(20), zonefile: `$ORIGIN evil.id\n${ESCAPES}\n` });
    else send(404, { error: ESCAPES });
  });
  // On every address: 127.0.0.2 is the node whose fields hold line ends (FORGED).
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  peer = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function expectNoControlCharacters(text: string): void {
  expect(text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/);
}

describe('the CLI against a node answering hostile JSON', () => {
  it('shows remote strings without their control characters, and skips fields of the wrong type', async () => {
    const [missing, status, resolve, missingJson] = await Promise.all([
      runAtlas(['missing', '-p', peer]),
      runAtlas(['status', '-p', peer]),
      runAtlas(['resolve', 'evil.id', '-p', peer]),
      runAtlas(['missing', '-p', peer, '--json']),
    ]);
    for (const run of [missing, status, resolve, missingJson]) {
      expect(run.code, run.stderr).toBe(0);
      expectNoControlCharacters(run.stderr);
    }
    for (const run of [missing, status, missingJson]) expectNoControlCharacters(run.stdout);
    expect(missing.stdout).toContain('ab'.repeat(20)); // the one well-formed item
    expect(missing.stdout).toContain('?]0;owned??[2J?[31mred?');
    expect(missing.stderr).toContain('2 malformed item(s)');
    expect(status.stdout).toMatch(/neighbours\s+-/);
    expect(status.stdout).toMatch(/rate\s+\?/); // not 0 chunks/s: the node's figure was not a number
    expect(status.stderr).toContain('field(s) of the wrong type skipped: neighbors, chunksPerSecond');
    // JSON escapes what JSON.stringify leaves raw (DEL, C1), and stays the same JSON.
    expect(missingJson.stdout).toContain('\\u009b');
    expect((JSON.parse(missingJson.stdout) as { missing: { lastError?: string }[] }).missing[2]!.lastError).toBe(`src: ${ESCAPES}`);
    // A zone file piped out stays exact (it may be saved and hashed); on a terminal it is shown as '?'.
    expect(resolve.stdout).toBe(`$ORIGIN evil.id\n${ESCAPES}\n`);
  });

  it('shows a remote error without its control characters', async () => {
    const run = await runAtlas(['resolve', 'nobody.id', '-p', peer]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('no such name ?]0;owned');
    expectNoControlCharacters(run.stderr);
  });

  it('keeps a remote field holding line ends on its own line: it cannot add a line to the output', async () => {
    const forger = http.createServer((req, res) => {
      req.headers.host = `127.0.0.2:${(forger.address() as AddressInfo).port}`;
      server.emit('request', req, res);
    });
    await new Promise<void>((resolve) => forger.listen(0, '127.0.0.2', () => resolve()));
    try {
      const at = `127.0.0.2:${(forger.address() as AddressInfo).port}`;
      const [missing, status, resolve] = await Promise.all([runAtlas(['missing', '-p', at]), runAtlas(['status', '-p', at]), runAtlas(['resolve', 'a.id', '-p', at])]);
      for (const run of [missing, status, resolve]) expect(run.code, run.stderr).toBe(0);
      // The header, the rule, one row and the total; the status table's five rows; one line on stderr.
      expect(missing.stdout.trimEnd().split('\n')).toHaveLength(4);
      expect(missing.stdout).toContain('x??chunks  999 of 999');
      expect(status.stdout.trimEnd().split('\n')).toHaveLength(7);
      expect(status.stdout.match(/^chunks/gm)).toHaveLength(1);
      expect(resolve.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(resolve.stdout).toBe('$ORIGIN a.id\n');
    } finally {
      await new Promise<void>((resolve) => forger.close(() => resolve()));
    }
  });

  it('shows a remote field of the wrong type as its JSON, never "[object Object]"; an empty name is bad usage', async () => {
    const [odd, gone, empty] = await Promise.all([
      runAtlas(['resolve', 'object.id', '-p', peer]),
      runAtlas(['resolve', 'gone.id', '-p', peer]),
      runAtlas(['resolve', '', '-p', peer]),
    ]);
    expect(odd.code).toBe(1);
    expect(odd.stderr).toContain('object.id: {"state":"odd"}');
    expect(gone.stderr).toContain('gone.id: {"reason":"gone"}');
    for (const run of [odd, gone]) expect(run.stderr).not.toContain('[object Object]');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('expected a name');
  });
});
