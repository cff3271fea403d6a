/**
 * Byzantine peers for the simulator. A Byzantine peer is a real AtlasNode (it joins, answers
 * ping with the right network and sequence so that honest nodes admit it, and replicates like
 * anyone) whose transport rewrites what it serves:
 *
 * - corrupt:   claims every chunk and serves bytes that do not hash to the address asked for;
 * - liar:      claims every chunk in its inventory and then answers "don't have" to every get;
 * - omit:      claims every chunk; answers a one-address get honestly (so an audit for a chunk it
 *              holds passes) and every larger get with a valid, empty reply: no chunk, no
 *              "don't have";
 * - stall:     claims every chunk, then never answers a get, peer list, offer or put (the caller
 *              times out);
 * - oversized: claims every chunk, then answers gets with chunks over the size limit or a reply
 *              over the transport's size limit, and peer lists longer than the protocol allows;
 * - garbage:   answers everything but ping with values of the wrong shape;
 * - flood:     serves data honestly but answers every peer exchange with bogus addresses, and
 *              keeps telling the peers that call it about bogus "new peers".
 *
 * Inventory lies are served through the whole-vector method: the incremental one always answers
 * "fetch the whole vector", so a liar's claim is refreshed on every round.
 */
import { isAddress } from '../address.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { randomInt, type Clock, type Random, type TimerHandle } from '../runtime.js';
import type { CallOptions, ListenOptions, RequestContext, Transport, TransportService, TransportStats } from '../transport/types.js';
import { Deadline } from '../protocol/deadline.js';
import { unpackedAddresses } from '../protocol/get-chunks.js';

export type ByzantineBehaviour = 'corrupt' | 'liar' | 'omit' | 'stall' | 'oversized' | 'garbage' | 'flood';

/** The behaviours of the mixed Byzantine scenario (each of the others has a scenario of its own). */
export const BYZANTINE_BEHAVIOURS: readonly ByzantineBehaviour[] = Object.freeze(['corrupt', 'liar', 'stall', 'oversized', 'garbage', 'flood']);

/** Deadline of a flooder's peer-exchange calls (virtual ms). */
const FLOOD_CALL_MS = 5_000;
const ALL_BEHAVIOURS: readonly ByzantineBehaviour[] = Object.freeze([...BYZANTINE_BEHAVIOURS, 'omit']);

export function isByzantineBehaviour(value: unknown): value is ByzantineBehaviour {
  return typeof value === 'string' && (ALL_BEHAVIOURS as readonly string[]).includes(value);
}

export interface ByzantineOptions {
  random: Random;
  clock: Clock;
  /** Bogus peer addresses are this prefix and a counter (names nobody on the network answers to). */
  bogusPrefix: string;
  /** Bogus addresses per peer-exchange reply (flood). Default 80, the protocol's maximum. */
  floodReplySize?: number;
  /** How often a flooder tells each recent caller about a bogus peer (virtual ms). Default 1,000. */
  floodEveryMs?: number;
  /** Recent callers a flooder remembers to spam. Default 64. */
  maxFloodTargets?: number;
  /** Bytes of the first chunk in an over-the-transport-limit reply. Default 9 MiB (MemoryNetwork's limit is 8 MiB). */
  hugeReplyBytes?: number;
  /** Bytes of each chunk in an over-the-chunk-limit reply. Default 40,961. */
  oversizedChunkBytes?: number;
}

type Handle = TransportService['handle'];

interface Fields {
  [key: string]: unknown;
}

export class ByzantineTransport implements Transport {
  /** Replies rewritten so far, by method. */
  readonly tampered: Record<string, number> = {};
  private readonly random: Random;
  private readonly floodTargets: string[] = [];
  private floodTimer: TimerHandle | undefined;
  private bogusCounter = 0;
  private replies = 0;
  private closed = false;

  constructor(
    private readonly inner: Transport,
    readonly behaviour: ByzantineBehaviour,
    private readonly options: ByzantineOptions,
  ) {
    this.random = options.random;
  }

  get address(): string | undefined {
    return this.inner.address;
  }

  get honoursTimeout(): boolean {
    return this.inner.honoursTimeout === true;
  }

  get handsOverReplies(): boolean {
    return this.inner.handsOverReplies === true;
  }

  async listen(service: TransportService, options?: ListenOptions): Promise<string> {
    const honest = service.handle.bind(service);
    const lying: TransportService = { ...service, handle: (method, params, context) => this.handle(method, params, context, honest) };
    const address = await this.inner.listen(lying, options);
    if (this.behaviour === 'flood') this.scheduleFlood();
    return address;
  }

  call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown> {
    return this.inner.call(peer, method, params, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.floodTimer !== undefined) this.options.clock.clearTimeout(this.floodTimer);
    await this.inner.close();
  }

  stats(): TransportStats {
    return this.inner.stats?.() ?? { callsOut: 0, callsIn: 0, bytesOut: 0, bytesIn: 0 };
  }

  private async handle(method: string, params: unknown, context: RequestContext, honest: Handle): Promise<unknown> {
    if (method === 'ping') return honest(method, params, context);
    switch (this.behaviour) {
      case 'flood':
        this.rememberCaller(context.remote);
        if (method === 'peers') return this.count(method, { peers: this.bogusPeers(this.options.floodReplySize ?? 80) });
        return honest(method, params, context);
      case 'garbage':
        return this.count(method, this.garbage());
      default:
        break;
    }
    // corrupt, liar, omit, stall, oversized: all claim to hold everything.
    if (method === 'inventory') return this.count(method, claimEverything(await honest(method, params, context), params));
    if (method === 'inventoryChanges') return this.count(method, wholeVectorPlease(await honest(method, params, context)));
    switch (this.behaviour) {
      case 'corrupt':
        if (method === 'getChunks') return this.count(method, this.corrupt(await honest(method, params, context), params));
        return honest(method, params, context);
      case 'liar':
        if (method === 'getChunks') return this.count(method, { chunks: [], missing: askedAddresses(params) });
        return honest(method, params, context);
      case 'omit':
        if (method === 'getChunks' && askedAddresses(params).length > 1) return this.count(method, { chunks: [], missing: [] });
        return honest(method, params, context);
      case 'stall':
        if (method === 'getChunks' || method === 'peers' || method === 'offer' || method === 'putChunks') {
          this.count(method, undefined);
          return stall(context.signal);
        }
        return honest(method, params, context);
      case 'oversized':
        if (method === 'getChunks') return this.count(method, this.oversized(params));
        if (method === 'peers') return this.count(method, { peers: this.bogusPeers(500) });
        return honest(method, params, context);
    }
  }

  private count<T>(method: string, value: T): T {
    this.tampered[method] = (this.tampered[method] ?? 0) + 1;
    return value;
  }

  /** Every asked address answered, none with its real bytes, in the form the caller asked for. */
  private corrupt(reply: unknown, params: unknown): unknown {
    const asked = askedAddresses(params);
    const real = new Map(listedChunks(reply, params).chunks.map((chunk) => [chunk.address, chunk.data]));
    const data = asked.map((address) => {
      const held = real.get(address);
      const bytes = held ? Uint8Array.from(held) : this.randomBytes(80 + randomInt(this.random, 220));
      const at = randomInt(this.random, bytes.length);
      bytes[at] = (bytes[at] as number) ^ 0x5a; // one flipped byte: the hash no longer matches
      return bytes;
    });
    if ((params as { inOrder?: unknown } | null)?.inOrder === true) return { inOrder: data };
    return { chunks: asked.map((address, i) => ({ address, data: data[i] as Uint8Array })), missing: [] };
  }

  private oversized(params: unknown): { chunks: { address: string; data: Uint8Array }[]; missing: string[] } {
    const asked = askedAddresses(params);
    if (asked.length === 0) return { chunks: [], missing: [] };
    const overTransport = this.replies++ % 2 === 1;
    if (overTransport) {
      return { chunks: [{ address: asked[0] as string, data: new Uint8Array(this.options.hugeReplyBytes ?? 9 * 1024 * 1024) }], missing: asked.slice(1) };
    }
    const size = this.options.oversizedChunkBytes ?? 40_961;
    return { chunks: asked.slice(0, 4).map((address) => ({ address, data: new Uint8Array(size).fill(0x41) })), missing: asked.slice(4) };
  }

  private garbage(): unknown {
    switch (randomInt(this.random, 6)) {
      case 0:
        return 'garbage';
      case 1:
        return this.random() * 1e9;
      case 2:
        return [1, 'two', { three: 3 }];
      case 3:
        return { chunks: 'none', missing: 7, peers: [1, 2, 3], sequenceLength: -1, bytes: 'zz', saved: 'yes' };
      case 4:
        return this.randomBytes(64);
      default:
        return { complete: 'maybe', inventory: { epoch: 5, version: 'x' }, wanted: -3, nested: { deeper: [[[]]] } };
    }
  }

  private bogusPeers(count: number): string[] {
    const peers: string[] = [];
    for (let i = 0; i < count; i++) peers.push(`${this.options.bogusPrefix}${this.bogusCounter++}`);
    return peers;
  }

  private randomBytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = randomInt(this.random, 256);
    return bytes;
  }

  private rememberCaller(remote: string): void {
    if (this.floodTargets.includes(remote)) return;
    this.floodTargets.push(remote);
    if (this.floodTargets.length > (this.options.maxFloodTargets ?? 64)) this.floodTargets.shift();
  }

  /** Tells every recent caller that a bogus address wants to be its peer. */
  private scheduleFlood(): void {
    if (this.closed) return;
    this.floodTimer = this.options.clock.setTimeout(() => {
      this.floodTimer = undefined;
      for (const target of this.floodTargets) {
        const [from] = this.bogusPeers(1);
        const deadline = new Deadline(this.options.clock, FLOOD_CALL_MS);
        this.inner
          .call(target, 'peers', { from }, { signal: deadline.signal })
          .catch(() => undefined)
          .finally(() => deadline.dispose());
      }
      this.scheduleFlood();
    }, this.options.floodEveryMs ?? 1_000);
  }
}

/**
 * An honest getChunks reply, in the listed form whichever form it came in (an in-order reply names
 * no addresses: they are the request's). Unchecked wire values: entries of the wrong type are left out.
 */
export function listedChunks(reply: unknown, params: unknown): { chunks: { address: string; data: Uint8Array }[]; missing: string[] } {
  const listed = { chunks: [] as { address: string; data: Uint8Array }[], missing: [] as string[] };
  const { chunks, missing, inOrder } = (reply ?? {}) as { chunks?: unknown; missing?: unknown; inOrder?: unknown };
  if (Array.isArray(chunks)) {
    for (const chunk of chunks as { address?: unknown; data?: unknown }[]) {
      if (typeof chunk?.address === 'string' && chunk.data instanceof Uint8Array) listed.chunks.push({ address: chunk.address, data: chunk.data });
    }
  }
  if (Array.isArray(missing)) for (const address of missing) if (typeof address === 'string') listed.missing.push(address);
  if (Array.isArray(inOrder)) {
    const addresses = requestAddresses(params, inOrder.length);
    inOrder.forEach((data: unknown, i) => {
      const address = addresses[i];
      if (typeof address !== 'string') return;
      if (data instanceof Uint8Array) listed.chunks.push({ address, data });
      else if (data === null) listed.missing.push(address);
    });
  }
  return listed;
}

/** Addresses of one request a hostile peer acts on: every one a request may carry (it read only the first 100 of 500). */
const MAX_ASKED = 10_000;

function askedAddresses(params: unknown): string[] {
  const out = new Set<string>();
  for (const address of requestAddresses(params, MAX_ASKED)) if (isAddress(address)) out.add(address.toLowerCase());
  return [...out];
}

/**
 * The first `max` entries of a raw getChunks request's addresses, in either form: a list (entries
 * as they are, checked by the caller) or packed bytes, 20 an address, as hex.
 */
export function requestAddresses(params: unknown, max: number): unknown[] {
  const addresses = (params as { addresses?: unknown } | null)?.addresses;
  if (Array.isArray(addresses)) return addresses.slice(0, max);
  return addresses instanceof Uint8Array ? unpackedAddresses(addresses, max) : [];
}

/** The honest inventory reply with every bit of the asked range set (padding bits stay clear). */
function claimEverything(reply: unknown, params: unknown): unknown {
  if (typeof reply !== 'object' || reply === null) return reply;
  const fields = reply as Fields;
  const bytes = fields.bytes;
  const sequenceLength = fields.sequenceLength;
  if (!(bytes instanceof Uint8Array) || typeof sequenceLength !== 'number') return reply;
  const offset = Number((params as { offset?: unknown } | null)?.offset ?? 0);
  const claimed = new Uint8Array(bytes.length).fill(0xff);
  const vectorBytes = Math.ceil(sequenceLength / 8);
  const tailBits = sequenceLength % 8;
  if (claimed.length > 0 && offset + claimed.length === vectorBytes && tailBits !== 0) {
    claimed[claimed.length - 1] = (0xff << (8 - tailBits)) & 0xff;
  }
  return { ...fields, bytes: claimed };
}

function wholeVectorPlease(reply: unknown): unknown {
  if (typeof reply !== 'object' || reply === null) return reply;
  const { sequenceLength, inventory } = reply as Fields;
  return { complete: false, sequenceLength, inventory };
}

/** Never answers; the caller's deadline (which aborts `signal`) ends it. */
function stall(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(new AtlasError(ErrorCodes.ABORTED, 'stalled request abandoned')), { once: true });
  });
}
