/**
 * The legacy methods as a translation layer, against a fake node behind the real protocol
 * validation (createProtocolService): what each legacy call becomes, how the node's own limits
 * and failures come back to a legacy client, and the route wiring in HttpTransport.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import {
  answerXmlRpc,
  DEFAULT_LEGACY_CONFIG,
  legacyRoutes,
  FAULT_INVALID_PARAMS,
  FAULT_METHOD_NOT_FOUND,
  FAULT_NOT_WELL_FORMED,
  parseMethodResponse,
  resolveLegacyConfig,
  serializeMethodCall,
  type LegacyConfig,
  type LegacyOptions,
  type XmlRpcValue,
} from '../../src/legacy/index.js';
import type { ProtocolLimits } from '../../src/protocol/limits.js';
import type { AtlasService } from '../../src/protocol/messages.js';
import { createProtocolService } from '../../src/protocol/server.js';
import { HttpTransport } from '../../src/transport/http.js';
import type { TransportService } from '../../src/transport/types.js';
import { contextFrom } from '../support/caller.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

interface Recorded {
  method: string;
  params: unknown;
}

/** A node answering from fixed state, recording what it was asked (after validation). */
function fakeNode(options: { limits?: Partial<ProtocolLimits>; peers?: string[]; failWith?: unknown; status?: unknown } = {}) {
  const calls: Recorded[] = [];
  const held = new Map([[A, new Uint8Array([1, 2, 3])]]);
  const record = (method: string, params: unknown) => {
    calls.push({ method, params });
    if (options.failWith !== undefined && method !== 'inventory') throw options.failWith;
  };
  const node: AtlasService = {
    async ping(params) {
      record('ping', params);
      return { protocol: 1, network: params.network, sequenceLength: 12, chunkCount: 1, digestLength: 12, digest: 'f'.repeat(40), inventory: { epoch: 'e', version: 0 } };
    },
    async peers(params) {
      record('peers', params);
      return { peers: options.peers ?? [] };
    },
    async inventory(params) {
      record('inventory', params);
      const vector = new Uint8Array([0b1010_0000, 0b0000_0001]);
      return { sequenceLength: 12, inventory: { epoch: 'e', version: 0 }, bytes: vector.slice(params.offset, params.offset + params.length) };
    },
    async inventoryChanges() {
      throw new Error('not used');
    },
    async getChunks(params) {
      record('getChunks', params);
      return { chunks: params.addresses.filter((a) => held.has(a)).map((address) => ({ address, data: held.get(address)! })), missing: [] };
    },
    async putChunks(params) {
      record('putChunks', params);
      return { saved: params.chunks.map((chunk) => chunk[0] === 7) };
    },
    async offer() {
      throw new Error('not used');
    },
  };
  const service: TransportService = {
    handle: createProtocolService(node, options.limits === undefined ? {} : { limits: options.limits }),
    status: () => options.status ?? { network: 'testnet' },
  };
  return { service, calls };
}

const CONFIG = resolveLegacyConfig(true) as Readonly<LegacyConfig>;

async function legacyCall(service: TransportService, method: string, params: XmlRpcValue[], config = CONFIG) {
  const reply = parseMethodResponse(await answerXmlRpc(serializeMethodCall(method, params), { service, ...contextFrom('127.0.0.1:1') }, config));
  if ('fault' in reply) return reply;
  expect(typeof reply.value).toBe('string');
  return JSON.parse(reply.value as string) as Record<string, unknown>;
}

describe('legacy methods over a fake node', () => {
  it('getinfo asks the node with its network id and reports its digest and counts', async () => {
    const { service, calls } = fakeNode();
    expect(await legacyCall(service, 'getinfo', [])).toMatchObject({ status: true, consensus: 'f'.repeat(40), zonefile_count: 1, lastblock: 12, testnet: true });
    expect(calls[0]).toEqual({ method: 'ping', params: { network: 'testnet', sequenceLength: Number.MAX_SAFE_INTEGER } });
    const named = fakeNode({ status: {} });
    const config = resolveLegacyConfig({ network: 'mainnet' }) as Readonly<LegacyConfig>;
    expect(await legacyCall(named.service, 'getinfo', [], config)).toMatchObject({ testnet: false, network: 'mainnet' });
    // without a network id from either place, a clear internal error, not a guess
    expect(await legacyCall(named.service, 'getinfo', [])).toEqual({ error: 'internal error', http_status: 500 });
  });

  it('get_zonefiles becomes getChunks; the node’s own lower limit comes back as a refusal', async () => {
    const { service, calls } = fakeNode({ limits: { maxGetAddresses: 2 } });
    expect(await legacyCall(service, 'get_zonefiles', [[A, B]])).toMatchObject({ zonefiles: { [A]: 'AQID' } });
    expect(calls[0]).toEqual({ method: 'getChunks', params: { addresses: [A, B] } });
    expect(await legacyCall(service, 'get_zonefiles', [[A, B, 'c'.repeat(40)]])).toEqual({ error: 'getChunks.addresses: 3 items, at most 2', http_status: 400 });
  });

  it('put_zonefiles sends only storable zone files and maps saved flags back in order', async () => {
    const { service, calls } = fakeNode();
    const small = Buffer.from([7, 1]).toString('base64');
    const refused = Buffer.from([8, 1]).toString('base64');
    const tooBig = Buffer.alloc(40_961, 7).toString('base64');
    expect(await legacyCall(service, 'put_zonefiles', [[small, tooBig, refused, new Uint8Array([7])]])).toMatchObject({ saved: [1, 0, 0, 1] });
    expect(calls[0]).toEqual({ method: 'putChunks', params: { chunks: [new Uint8Array([7, 1]), new Uint8Array([8, 1]), new Uint8Array([7])] } });
    const none = fakeNode();
    expect(await legacyCall(none.service, 'put_zonefiles', [[tooBig]])).toMatchObject({ saved: [0] });
    expect(none.calls.filter((c) => c.method === 'putChunks')).toEqual([]);
  });

  it('get_zonefile_inventory becomes an inventory read of the same byte range', async () => {
    const { service, calls } = fakeNode();
    expect(await legacyCall(service, 'get_zonefile_inventory', [1, 5])).toMatchObject({ inv: Buffer.from([1]).toString('base64'), lastblock: 12 });
    expect(calls[0]).toEqual({ method: 'inventory', params: { offset: 1, length: 5 } });
    expect(await legacyCall(service, 'get_zonefile_inventory', ['0', 1])).toEqual({ error: 'invalid offset', http_status: 400 });
    expect(await legacyCall(service, 'get_zonefile_inventory', [0, 1.5])).toEqual({ error: 'invalid length', http_status: 400 });
  });

  it('peer lists keep only the host:port forms the original clients accept', async () => {
    const { service, calls } = fakeNode({ peers: ['[::1]:6264', 'one.example:8', 'two.example:6264', '10.0.0.1:70000', '10.0.0.2:6265'] });
    expect(await legacyCall(service, 'get_atlas_peers', [])).toMatchObject({ peers: ['two.example:6264', '10.0.0.2:6265'] });
    expect(calls[0]).toEqual({ method: 'peers', params: {} });
    await legacyCall(service, 'atlas_peer_exchange', ['198.51.100.7:6264']);
    expect(calls.find((c) => c.method === 'peers' && (c.params as { from?: string }).from !== undefined)).toEqual({ method: 'peers', params: { from: '198.51.100.7:6264' } });
    expect(await legacyCall(service, 'atlas_peer_exchange', ['no-port'])).toEqual({ error: 'Invalid remote peer address', http_status: 400 });
  });

  it('node failures become {error, http_status}; internal ones never leak their message', async () => {
    const closed = fakeNode({ failWith: new AtlasError(ErrorCodes.CLOSED, 'node closed') });
    expect(await legacyCall(closed.service, 'get_zonefiles', [[A]])).toEqual({ error: 'node closed', http_status: 503 });
    const broken = fakeNode({ failWith: new TypeError('secret detail') });
    expect(await legacyCall(broken.service, 'get_atlas_peers', [])).toEqual({ error: 'internal error', http_status: 500 });
    const raw: TransportService = {
      handle: async () => {
        throw new TypeError('secret detail');
      },
    };
    expect(await legacyCall(raw, 'ping', [])).toEqual({ error: 'internal error', http_status: 500 });
  });

  it('answers calls it cannot run with faults', async () => {
    const { service } = fakeNode();
    const fault = async (body: string) => parseMethodResponse(await answerXmlRpc(body, { service, ...contextFrom('x') }, CONFIG));
    expect(await fault(serializeMethodCall('get_name_record', []))).toEqual({ fault: { faultCode: FAULT_METHOD_NOT_FOUND, faultString: 'method "get_name_record" is not supported' } });
    expect(await fault(serializeMethodCall('get_zonefiles', []))).toEqual({ fault: { faultCode: FAULT_INVALID_PARAMS, faultString: 'get_zonefiles takes 1 argument, got 0' } });
    expect(await fault(serializeMethodCall('toString', []))).toMatchObject({ fault: { faultCode: FAULT_METHOD_NOT_FOUND } });
    expect(await fault('<methodCall>')).toMatchObject({ fault: { faultCode: FAULT_NOT_WELL_FORMED } });
  });
});

describe('legacy options and route wiring', () => {
  const transports: HttpTransport[] = [];
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
  });

  it('refuses nonsensical settings', () => {
    const refused = (options: unknown) => {
      try {
        resolveLegacyConfig(options as LegacyOptions);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const cases: [unknown, string][] = [
      [{ maxGetZonefiles: 0 }, 'legacy.maxGetZonefiles'],
      [{ rpcPaths: ['RPC2'] }, 'legacy.rpcPaths'],
      [{ rpcAllowedOrigins: 'https://a.example' }, 'legacy.rpcAllowedOrigins'],
      // NaN would turn the XML-RPC reader's nesting checks off on a public endpoint.
      [{ xmlrpc: { maxDepth: Number.NaN } }, 'legacy.xmlrpc.maxDepth'],
      [{ maxGetZonefile: 5 }, 'legacy.maxGetZonefile'],
      [{ network: '' }, 'legacy.network'],
      ['yes', 'legacy'],
    ];
    for (const [options, option] of cases) expect(refused(options), option).toMatchObject({ code: 'INVALID_OPTION', option });
    expect(resolveLegacyConfig({ xmlrpc: { maxDepth: 8 } })?.xmlrpc).toEqual({ ...DEFAULT_LEGACY_CONFIG.xmlrpc, maxDepth: 8 });
    expect(resolveLegacyConfig(false)).toBeUndefined();
  });

  async function post(address: string, path: string): Promise<number> {
    const reply = await fetch(`http://${address}${path}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: serializeMethodCall('ping', []) });
    await reply.arrayBuffer();
    return reply.status;
  }

  it('mounts nothing unless asked, and only the parts asked for', async () => {
    const { service } = fakeNode();
    const off = new HttpTransport({ listen: '127.0.0.1:0' });
    const rpcOnly = new HttpTransport({ listen: '127.0.0.1:0', routes: legacyRoutes({ rest: false, attachments: false, rpcPaths: ['/legacy'] }) });
    transports.push(off, rpcOnly);
    const offAddress = await off.listen(service);
    const rpcAddress = await rpcOnly.listen(service);
    expect(await post(offAddress, '/RPC2')).toBe(404);
    expect(await post(rpcAddress, '/legacy')).toBe(200);
    expect(await post(rpcAddress, '/RPC2')).toBe(404);
    expect((await fetch(`http://${rpcAddress}/v1/zonefiles/${A}`)).status).toBe(404);
  });

  it('refuses compressed bodies (they would defeat the size bound) with 415', async () => {
    const { service } = fakeNode();
    const transport = new HttpTransport({ listen: '127.0.0.1:0', routes: legacyRoutes(true) });
    transports.push(transport);
    const address = await transport.listen(service);
    const reply = await fetch(`http://${address}/RPC2`, { method: 'POST', headers: { 'content-type': 'text/xml', 'content-encoding': 'gzip' }, body: 'x' });
    expect(reply.status).toBe(415);
    expect(await reply.text()).toMatch(/content codings/);
  });
});
