/**
 * `atlas status` against a node whose status fields are partly of the wrong type: the table shows
 * '?' for each such field and one stderr line names them, in the table's order; a status of right
 * types prints no such line. The output is pinned byte for byte.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAtlas } from './helpers.js';

/** state, have and peers of the wrong type; address is of the wrong type too, but not shown. */
const MIXED = { state: 7, network: 'mainnet', have: '1', total: 20, peers: null, neighbors: ['127.0.0.1:1', 2], chunksPerSecond: 1.5, address: 5, extra: 'x' };
const WELL_TYPED = { state: 'running', network: 'mainnet', have: 15, total: 20, peers: 2, neighbors: [], chunksPerSecond: 0 };

const servers: http.Server[] = [];

async function serveStatus(body: unknown): Promise<string> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let mixedPeer: string;
let wellTypedPeer: string;

beforeAll(async () => {
  [mixedPeer, wellTypedPeer] = await Promise.all([serveStatus(MIXED), serveStatus(WELL_TYPED)]);
});
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

describe('atlas status with fields of the wrong type', () => {
  it('shows ? for each and names them once on stderr; a well-typed status names none', async () => {
    const [mixed, wellTyped] = await Promise.all([runAtlas(['status', '-p', mixedPeer]), runAtlas(['status', '-p', wellTypedPeer])]);
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(mixed.stderr).toBe(`atlas: ${mixedPeer}'s status: field(s) of the wrong type skipped: state, have, peers\n`);
    const nodeColumn = `${mixedPeer} (?, network mainnet)`;
    expect(mixed.stdout).toBe(
      [
        'status',
        `----------  ${'-'.repeat(nodeColumn.length)}`,
        `node        ${nodeColumn}`,
        'chunks      ? of 20 announced positions held',
        'peers       ?',
        'neighbours  127.0.0.1:1, 2',
        'rate        1.5 chunks/s',
        '',
      ].join('\n'),
    );
    expect(wellTyped.code, wellTyped.stderr).toBe(0);
    expect(wellTyped.stderr).toBe('');
    expect(wellTyped.stdout).toContain('15 of 20 announced positions held, 5 missing');
    expect(wellTyped.stdout).toMatch(/neighbours\s+-\n/);
  });
});
