/**
 * Issue 8 item 4: independent clients against a running atlasnet node with the legacy routes mounted.
 * - Python's standard xmlrpc.client calls every legacy XML-RPC method (and a few malformed calls);
 * - plain curl reads and writes the REST and Stacks 2.x attachment routes.
 * Each part is skipped, with a message, where python3 or curl is absent.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex, hashReady } from '../../src/hash/index.js';
import { legacyRoutes } from '../../src/legacy/index.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks, type GeneratedChunk } from '../../src/sim/workload.js';
import { HttpTransport } from '../../src/transport/http.js';
import { waitFor } from '../support/wait.js';

function available(command: string): boolean {
  const probe = spawnSync(command, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  return probe.error === undefined && probe.status === 0;
}

const HAVE_PYTHON = available('python3');
const HAVE_CURL = available('curl');
if (!HAVE_PYTHON) console.warn('python3 not found: skipping the xmlrpc.client tests of the legacy API');
if (!HAVE_CURL) console.warn('curl not found: skipping the curl tests of the legacy REST and attachment routes');

interface Output {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command without blocking the event loop (the node under test answers in this process). */
function run(command: string, args: readonly string[], input?: string | Buffer): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (part: Buffer) => out.push(part));
    child.stderr.on('data', (part: Buffer) => (err += part.toString('utf8')));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(input ?? '');
  });
}

/** A zone file of exactly `size` bytes. */
function zoneFileOfSize(name: string, size: number): Uint8Array {
  const head = `$ORIGIN ${name}.id\n$TTL 3600\n_http._tcp URI 10 1 "https://gaia.example/`;
  return Buffer.from((head + 'x'.repeat(size)).slice(0, size - 2) + '"\n', 'utf8');
}

function chunkOf(data: Uint8Array): GeneratedChunk {
  return { address: hash160Hex(data), data };
}

const b64 = (data: Uint8Array) => Buffer.from(data).toString('base64');
const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');

/** The bits of SPEC §4 for positions [from, from + count). */
function bitsOf(vector: Uint8Array, from: number, count: number): number[] {
  return Array.from({ length: count }, (_v, i) => {
    const position = from + i;
    return ((vector[position >> 3] ?? 0) & (0x80 >> (position & 7))) !== 0 ? 1 : 0;
  });
}

// 70 announced zone files (so the attachment inventory has a second page) plus one of exactly
// 40,960 bytes; the node holds the even positions. Extra chunks exercise refusals.
let announced: GeneratedChunk[] = [];
let held: GeneratedChunk[] = [];
let absent: GeneratedChunk[] = [];
let unannounced: GeneratedChunk;
let oversize: GeneratedChunk;
const nodes: AtlasNode[] = [];
let node: AtlasNode;
let base: string;

beforeAll(async () => {
  await hashReady();
  announced = [...generateChunks(70, seededRandom(808), { prefix: 'legacy' }), chunkOf(zoneFileOfSize('biggest', 40_960))];
  held = announced.filter((_c, i) => i % 2 === 0);
  absent = announced.filter((_c, i) => i % 2 === 1);
  unannounced = chunkOf(zoneFileOfSize('nobody', 300));
  oversize = chunkOf(zoneFileOfSize('toobig', 40_961));
  const chain = new MemoryChain();
  chain.announce([...announced.map((c) => c.address), oversize.address]);
  const open = (seeds: string[]) =>
    AtlasNode.open({
      chain,
      transport: new HttpTransport({ listen: '127.0.0.1:0', routes: legacyRoutes(true) }),
      network: 'testnet',
      seeds,
      addressPolicy: LOCAL_ADDRESS_POLICY,
      // slow replication: the second node is only there to be a live peer
      timers: { roundMs: 50, inventoryRefreshMs: 60_000, neighborRenewMs: 60_000, refusalMs: 1_000 },
    });
  node = await open([]);
  nodes.push(node);
  await node.start();
  expect((await node.putChunks(held.map((c) => c.data))).every(Boolean)).toBe(true);
  const peer = await open([node.address as string]);
  nodes.push(peer);
  await peer.start();
  base = `http://${node.address}`;
  // The second node is live (admitted, healthy) once the node's own peers method lists it.
  await waitFor(async () => (await livePeers()).includes(peer.address as string), 'the first node to list the second as a live peer', 20_000);
});

async function livePeers(): Promise<string[]> {
  const reply = await fetch(`${base}/atlas/v1/peers`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{}' });
  return ((await reply.json()) as { peers: string[] }).peers;
}

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

const PYTHON_CLIENT = String.raw`
import json, sys, xmlrpc.client

config = json.load(sys.stdin)
proxy = xmlrpc.client.ServerProxy(config["url"], allow_none=True)
results = {}

def call(label, method, *args, via=None):
    target = via or proxy
    try:
        reply = getattr(target, method)(*args)
        results[label] = {"reply": json.loads(reply)} if isinstance(reply, str) else {"raw": repr(reply)}
    except xmlrpc.client.Fault as fault:
        results[label] = {"fault": fault.faultCode, "faultString": fault.faultString}
    except xmlrpc.client.ProtocolError as error:
        results[label] = {"protocol_error": error.errcode}
    except ConnectionError:
        # a server refusing a body may close the connection before the client has sent it all
        results[label] = {"connection_closed": True}

call("ping", "ping")
call("ping_slash", "ping", via=xmlrpc.client.ServerProxy(config["url_slash"]))
call("getinfo", "getinfo")
call("get_zonefiles", "get_zonefiles", config["get"])
call("get_zonefiles_bad_hash", "get_zonefiles", ["xyz"])
call("get_zonefiles_too_many", "get_zonefiles", [config["get"][0]] * 101)
call("get_zonefiles_not_list", "get_zonefiles", "abc")
call("put_zonefiles", "put_zonefiles", config["put"])
call("put_zonefiles_binary", "put_zonefiles", [xmlrpc.client.Binary(bytes.fromhex(config["put_binary_hex"]))])
call("put_zonefiles_too_many", "put_zonefiles", [""] * 6)
call("put_zonefiles_not_base64", "put_zonefiles", ["not base64!"])
call("inventory", "get_zonefile_inventory", 0, 524288)
call("inventory_slice", "get_zonefile_inventory", 1, 2)
call("inventory_past_end", "get_zonefile_inventory", 1000, 10)
call("inventory_bad_length", "get_zonefile_inventory", 0, 524289)
call("inventory_bad_offset", "get_zonefile_inventory", -1, 1)
call("get_atlas_peers", "get_atlas_peers")
call("atlas_peer_exchange", "atlas_peer_exchange", config["exchange_from"])
call("atlas_peer_exchange_bad", "atlas_peer_exchange", "not a peer")
call("unknown_method", "get_name_record", "muneeb.id")
call("wrong_arity", "ping", 1)
call("oversized_body", "put_zonefiles", ["A" * 600000])
json.dump(results, sys.stdout)
`;

type PyResult = { reply?: Record<string, unknown>; fault?: number; faultString?: string; protocol_error?: number; connection_closed?: boolean; raw?: string };

describe.skipIf(!HAVE_PYTHON)("Python's xmlrpc.client against a running node", () => {
  let results: Record<string, PyResult>;
  const putText = () => absent[0] as GeneratedChunk;
  const putBinary = () => absent[1] as GeneratedChunk;

  beforeAll(async () => {
    const config = {
      url: `${base}/RPC2`,
      url_slash: `${base}/`,
      get: [held[0]!.address, held[1]!.address.toUpperCase(), absent[2]!.address, held[35]!.address],
      put: [b64(putText().data), b64(unannounced.data), b64(oversize.data), ''],
      put_binary_hex: hex(putBinary().data),
      exchange_from: '127.0.0.1:9',
    };
    const output = await run('python3', ['-c', PYTHON_CLIENT], JSON.stringify(config));
    expect(output.stderr).toBe('');
    expect(output.code).toBe(0);
    results = JSON.parse(output.stdout.toString('utf8')) as Record<string, PyResult>;
  });

  const reply = (label: string) => {
    const result = results[label];
    expect(result?.reply, `${label}: ${JSON.stringify(result)}`).toBeDefined();
    return result?.reply as Record<string, unknown>;
  };
  const lastblock = () => node.stats().total;

  it('ping: status "alive" and a version, on /RPC2 and on /', () => {
    for (const label of ['ping', 'ping_slash']) {
      expect(reply(label)).toEqual({ status: 'alive', version: 'atlasnet', indexing: false, lastblock: lastblock() });
    }
  });

  it('getinfo: the fields the original clients require, from the node', () => {
    const info = reply('getinfo');
    const stats = node.stats();
    expect(info).toMatchObject({
      status: true,
      indexing: false,
      lastblock: stats.total,
      server_alive: true,
      server_version: 'atlasnet',
      last_block_seen: stats.total,
      last_block_processed: stats.total,
      consensus: node.store.sequenceDigest(),
      testnet: true,
      network: 'testnet',
      sequence_length: stats.total,
    });
    expect(info.zonefile_count).toBe(held.length); // getinfo ran before the script's puts
  });

  it('get_zonefiles: base64 data of the zone files held, keyed by the canonical (lower-case) hash; absent ones left out', () => {
    const zonefiles = reply('get_zonefiles').zonefiles as Record<string, string>;
    expect(Object.keys(zonefiles).sort()).toEqual([held[0]!.address, held[1]!.address, held[35]!.address].sort());
    expect(Buffer.from(zonefiles[held[0]!.address]!, 'base64').equals(Buffer.from(held[0]!.data))).toBe(true);
    expect(Buffer.from(zonefiles[held[1]!.address]!, 'base64').equals(Buffer.from(held[1]!.data))).toBe(true);
    expect(Buffer.from(zonefiles[held[35]!.address]!, 'base64')).toHaveLength(40_960);
    expect(reply('get_zonefiles')).toMatchObject({ status: true, indexing: false, lastblock: lastblock() });
  });

  it('get_zonefiles: the original refusals', () => {
    expect(reply('get_zonefiles_bad_hash')).toEqual({ error: 'Invalid zone file hash', http_status: 400 });
    expect(reply('get_zonefiles_too_many')).toEqual({ error: 'Too many requests (no more than 100 allowed)', http_status: 400 });
    expect(reply('get_zonefiles_not_list')).toEqual({ error: 'Invalid zonefile hashes', http_status: 400 });
  });

  it('put_zonefiles: saved 1 for an announced zone file (text or Binary), 0 for unannounced, oversize and empty ones', async () => {
    expect(reply('put_zonefiles')).toMatchObject({ status: true, indexing: false, saved: [1, 0, 0, 0] });
    expect(reply('put_zonefiles_binary')).toMatchObject({ status: true, saved: [1] });
    const stored = await node.getChunks([putText().address, putBinary().address, unannounced.address, oversize.address]);
    expect([...stored.keys()].sort()).toEqual([putText().address, putBinary().address].sort());
    expect(Buffer.from(stored.get(putText().address)!).equals(Buffer.from(putText().data))).toBe(true);
  });

  it('put_zonefiles: the original refusals', () => {
    expect(reply('put_zonefiles_too_many')).toEqual({ error: 'Too many zonefiles', http_status: 400 });
    expect(reply('put_zonefiles_not_base64')).toEqual({ error: 'Invalid zone file payload (exceeds 40960 bytes and/or not base64-encoded)', http_status: 400 });
  });

  it('get_zonefile_inventory: base64 of the byte range, clamped to the vector', () => {
    // Read after the script's two puts: the even positions, and positions 1 and 3 (absent[0], absent[1]).
    const before = new Uint8Array(Math.ceil((announced.length + 1) / 8));
    announced.forEach((_c, i) => {
      if (i % 2 === 0 || i === 1 || i === 3) before[i >> 3]! |= 0x80 >> (i & 7);
    });
    const inv = (label: string) => Buffer.from(reply(label).inv as string, 'base64');
    expect(inv('inventory').equals(Buffer.from(before))).toBe(true);
    expect(inv('inventory_slice').equals(Buffer.from(before.subarray(1, 3)))).toBe(true);
    expect(inv('inventory_past_end')).toHaveLength(0);
    expect(reply('inventory')).toMatchObject({ status: true, indexing: false, lastblock: announced.length + 1 });
    expect(reply('inventory_bad_length')).toEqual({ error: 'invalid length', http_status: 400 });
    expect(reply('inventory_bad_offset')).toEqual({ error: 'invalid offset', http_status: 400 });
  });

  it('get_atlas_peers and atlas_peer_exchange: the live peers, in host:port form', () => {
    const peerAddress = nodes[1]!.address as string;
    expect(reply('get_atlas_peers')).toMatchObject({ status: true, peers: [peerAddress] });
    expect(reply('atlas_peer_exchange')).toMatchObject({ status: true, peers: [peerAddress] });
    expect(reply('atlas_peer_exchange_bad')).toEqual({ error: 'Invalid remote peer address', http_status: 400 });
  });

  it('answers malformed calls with XML-RPC faults, and an oversized body with HTTP 413', () => {
    expect(results.unknown_method).toEqual({ fault: -32601, faultString: 'method "get_name_record" is not supported' });
    expect(results.wrong_arity).toEqual({ fault: -32602, faultString: 'ping takes 0 arguments, got 1' });
    // 413, or the connection closed under a client still sending: refused either way, never read
    expect([{ protocol_error: 413 }, { connection_closed: true }]).toContainEqual(results.oversized_body);
  });
});

const CURL_MARK = '\n@@curl@@';

interface CurlReply {
  status: number;
  contentType: string;
  body: Buffer;
}

async function curl(args: readonly string[], input?: string, options: { allowFailure?: boolean } = {}): Promise<CurlReply> {
  const output = await run('curl', ['-sS', '--max-time', '20', '-w', `${CURL_MARK}%{http_code}|%{content_type}`, ...args], input);
  if (!options.allowFailure) expect(output.code, output.stderr).toBe(0);
  const at = output.stdout.lastIndexOf(CURL_MARK);
  const [status, contentType] = output.stdout.subarray(at + CURL_MARK.length).toString('utf8').split('|');
  return { status: Number(status), contentType: contentType ?? '', body: output.stdout.subarray(0, at) };
}

const postJson = (path: string, body: string) => curl(['-X', 'POST', '-H', 'content-type: application/json', '--data-binary', '@-', `${base}${path}`], body);
const json = (reply: CurlReply): unknown => JSON.parse(reply.body.toString('utf8'));

describe.skipIf(!HAVE_CURL)('curl against the REST and attachment routes', () => {
  it('GET /v1/zonefiles/<address>: raw bytes, 404 when absent, 400 when malformed', async () => {
    const found = await curl([`${base}/v1/zonefiles/${held[3]!.address.toUpperCase()}`]);
    expect(found.status).toBe(200);
    expect(found.contentType).toBe('application/octet-stream');
    expect(found.body.equals(Buffer.from(held[3]!.data))).toBe(true);
    const missing = await curl([`${base}/v1/zonefiles/${absent[10]!.address}`]);
    expect(missing.status).toBe(404);
    expect(json(missing)).toEqual({ error: 'Blockstack node does not have this zonefile.  Try again later.' });
    const malformed = await curl([`${base}/v1/zonefiles/xyz`]);
    expect(malformed.status).toBe(400);
    expect(json(malformed)).toEqual({ error: 'Invalid zone file hash' });
  });

  it('POST /v1/zonefile: stores an announced zone file given as text or base64', async () => {
    const text = absent[11]!;
    const stored = await postJson('/v1/zonefile', JSON.stringify({ zonefile: Buffer.from(text.data).toString('utf8') }));
    expect(stored.status).toBe(200);
    expect(json(stored)).toEqual({ status: true, servers: [base] });
    const encoded = absent[12]!;
    expect((await postJson('/v1/zonefile', JSON.stringify({ zonefile_b64: b64(encoded.data) }))).status).toBe(200);
    const both = await node.getChunks([text.address, encoded.address]);
    expect(Buffer.from(both.get(text.address)!).equals(Buffer.from(text.data))).toBe(true);
    expect(Buffer.from(both.get(encoded.address)!).equals(Buffer.from(encoded.data))).toBe(true);
    // and the raw route serves it back
    const back = await curl([`${base}/v1/zonefiles/${encoded.address}`]);
    expect(back.body.equals(Buffer.from(encoded.data))).toBe(true);
  });

  it('POST /v1/zonefile: refuses unannounced zone files and malformed requests', async () => {
    const refused = await postJson('/v1/zonefile', JSON.stringify({ zonefile_b64: b64(unannounced.data) }));
    expect(refused.status).toBe(400);
    expect(json(refused)).toEqual({ error: 'Blockstack node did not save the zone file' });
    for (const body of ['{not json', '[]', '{}', '{"zonefile": 5}', '{"zonefile_b64": "***"}']) {
      const reply = await postJson('/v1/zonefile', body);
      expect(reply.status, body).toBe(400);
      expect(json(reply)).toEqual({ error: 'Invalid request' });
    }
    expect(await node.getChunks([unannounced.address])).toEqual(new Map());
    // 413, or (status 000) the connection closed under curl still sending: refused either way
    const huge = await curl(['-X', 'POST', '-H', 'content-type: application/json', '--data-binary', '@-', `${base}/v1/zonefile`], JSON.stringify({ zonefile: 'x'.repeat(600_000) }), {
      allowFailure: true,
    });
    expect([413, 0]).toContain(huge.status);
  });

  it('GET /v2/attachments/<address>: a JSON string of hex, 404 text when absent', async () => {
    const found = await curl([`${base}/v2/attachments/${held[4]!.address}`]);
    expect(found.status).toBe(200);
    expect(found.contentType).toBe('application/json');
    expect(json(found)).toBe(hex(held[4]!.data));
    const missing = await curl([`${base}/v2/attachments/${absent[20]!.address}`]);
    expect(missing.status).toBe(404);
    expect(missing.body.toString('utf8')).toBe('Unable to find attachment');
  });

  it('GET /v2/attachments/inv: pages of 64 slots, one number per slot, as the node holds them', async () => {
    const blockHash = 'ab'.repeat(32);
    const reply = await curl([`${base}/v2/attachments/inv?index_block_hash=${blockHash}&pages_indexes=1,0,1,9`]);
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe('application/json');
    const vector = node.inventory();
    expect(json(reply)).toEqual({
      block_id: blockHash,
      pages: [0, 1, 9].map((index) => ({ index, inventory: bitsOf(vector, index * 64, 64) })),
    });
    const pages = (json(reply) as { pages: { inventory: number[] }[] }).pages;
    expect(pages[0]!.inventory.slice(4, 8)).toEqual([1, 0, 1, 0]);
    // positions 70 (the 40,960-byte zone file, held) and 71 (the oversize one, never stored), then past the end
    expect(pages[1]!.inventory.slice(6, 9)).toEqual([1, 0, 0]);
    expect(pages[2]!.inventory.every((slot) => slot === 0)).toBe(true);
  });

  it('GET /v2/attachments/inv: 400 for more than 8 pages, and for a missing or malformed query', async () => {
    const blockHash = 'cd'.repeat(32);
    const cases: [string, RegExp][] = [
      [`index_block_hash=${blockHash}&pages_indexes=0,1,2,3,4,5,6,7,8`, /limited by 8 per request/],
      [`pages_indexes=0`, /expecting index_block_hash/],
      [`index_block_hash=abc&pages_indexes=0`, /expecting index_block_hash/],
      [`index_block_hash=${blockHash}`, /expecting pages_indexes/],
      [`index_block_hash=${blockHash}&pages_indexes=0,x`, /not an unsigned 32-bit integer/],
      [`index_block_hash=${blockHash}&pages_indexes=4294967296`, /not an unsigned 32-bit integer/],
    ];
    for (const [query, message] of cases) {
      const reply = await curl([`${base}/v2/attachments/inv?${query}`]);
      expect(reply.status, query).toBe(400);
      expect(reply.body.toString('utf8')).toMatch(message);
    }
    const eight = await curl([`${base}/v2/attachments/inv?index_block_hash=${blockHash}&pages_indexes=0,1,2,3,4,5,6,7,7`]);
    expect(eight.status).toBe(200);
  });
});
