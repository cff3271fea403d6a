import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes, isAtlasError } from '../../src/errors.js';
import { vouchForAddresses } from '../../src/protocol/checked-addresses.js';
import { ProtocolClient, DEFAULT_TIMEOUTS } from '../../src/protocol/client.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import type { AtlasService, CallerContext } from '../../src/protocol/messages.js';
import { createProtocolService } from '../../src/protocol/server.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { TimerHandle } from '../../src/runtime.js';
import { followerCount } from '../../src/transport/abort.js';
import type { CallOptions, Transport, TransportService } from '../../src/transport/types.js';
import { contextFrom } from '../support/caller.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

interface SentCall {
  peer: string;
  method: string;
  params: unknown;
  options: CallOptions | undefined;
}

/** A transport that answers every call with `reply(method, params)` and records what was sent. */
class FakeTransport implements Transport {
  readonly address = 'me:1';
  readonly sent: SentCall[] = [];
  constructor(private readonly reply: (method: string, params: unknown) => unknown) {}
  async listen(_service: TransportService): Promise<string> {
    return this.address;
  }
  async call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown> {
    this.sent.push({ peer, method, params, options });
    return this.reply(method, params);
  }
  async close(): Promise<void> {}
}

async function rejection(promise: Promise<unknown>): Promise<AtlasError> {
  try {
    await promise;
  } catch (error) {
    if (isAtlasError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const version = { epoch: 'e1', version: 2 };
const pingReply = { protocol: 1, network: 'main', sequenceLength: 10, chunkCount: 3, digestLength: 5, digest: 'ab'.repeat(20), inventory: version };

/**
 * Never answers. It ends a call with ABORTED when the call's signal aborts and, when it says it
 * `honoursTimeout` (the default), when its timeoutMs passes on `clock`; 'signal' honours only the
 * signal (a transport written before timeoutMs), 'nothing' neither.
 */
class SilentTransport implements Transport {
  readonly address = 'me:1';
  /** What each call was given. */
  readonly calls: CallOptions[] = [];
  /** Calls this transport ended itself, on their signal or their timeout. */
  ended = 0;
  readonly honoursTimeout: boolean;
  private readonly honours: boolean;
  constructor(
    private readonly clock?: VirtualClock,
    honours: 'all' | 'signal' | 'nothing' = 'all',
  ) {
    this.honoursTimeout = honours === 'all';
    this.honours = honours !== 'nothing';
  }
  get signals(): (AbortSignal | undefined)[] {
    return this.calls.map((options) => options.signal);
  }
  async listen(): Promise<string> {
    return this.address;
  }
  call(_peer: string, _method: string, _params: unknown, options: CallOptions = {}): Promise<unknown> {
    this.calls.push(options);
    return new Promise((_, reject) => {
      if (!this.honours) return;
      let timer: TimerHandle | undefined;
      let over = false;
      const end = (why: string) => {
        if (over) return;
        over = true;
        if (timer !== undefined) this.clock?.clearTimeout(timer);
        this.ended++;
        reject(new AtlasError(ErrorCodes.ABORTED, why));
      };
      options.signal?.addEventListener('abort', () => end('transport saw the abort'), { once: true });
      if (this.honoursTimeout && options.timeoutMs !== undefined) timer = this.clock?.setTimeout(() => end('transport saw its timeout'), options.timeoutMs);
    });
  }
  async close(): Promise<void> {}
}

/** The virtual time at which `promise` settled, and its error code. */
async function endOf(clock: VirtualClock, promise: Promise<unknown>, upTo = 60_000): Promise<{ at: number | undefined; code: string | undefined }> {
  let at: number | undefined;
  let code: string | undefined;
  promise.then(
    () => (at = clock.now()),
    (error: unknown) => {
      at = clock.now();
      code = isAtlasError(error) ? error.code : String(error);
    },
  );
  await clock.run({ deadline: upTo, until: () => at !== undefined });
  return { at, code };
}

describe('ProtocolClient: deadlines and aborts', () => {
  const calls: [string, (client: ProtocolClient, options?: { signal?: AbortSignal; timeoutMs?: number }) => Promise<unknown>][] = [
    ['ping', (c, o) => c.ping('p:1', { network: 'main', sequenceLength: 5 }, o)],
    ['peers', (c, o) => c.peers('p:1', {}, o)],
    ['inventory', (c, o) => c.inventory('p:1', { offset: 0, length: 1 }, o)],
    ['inventoryChanges', (c, o) => c.inventoryChanges('p:1', { since: version }, o)],
    ['offer', (c, o) => c.offer('p:1', { from: 'me:1', added: new Uint8Array(0) }, o)],
    ['getChunks', (c, o) => c.getChunks('p:1', { addresses: [] }, o)],
    ['putChunks', (c, o) => c.putChunks('p:1', { chunks: [] }, o)],
  ];

  it('ends each call at the SPEC §7 deadline of its kind, in the injected clock\'s time, with TIMEOUT', async () => {
    expect(DEFAULT_TIMEOUTS).toEqual({ ping: 3_000, inventory: 10_000, peers: 10_000, chunks: 30_000 });
    const expected: Record<string, number> = { ping: 3_000, peers: 10_000, inventory: 10_000, inventoryChanges: 10_000, offer: 10_000, getChunks: 30_000, putChunks: 30_000 };
    for (const [method, call] of calls) {
      const clock = new VirtualClock();
      const transport = new SilentTransport(clock);
      expect(await endOf(clock, call(new ProtocolClient(transport, { clock })))).toEqual({ at: expected[method], code: ErrorCodes.TIMEOUT });
      // The transport was given the same deadline, and ended its call there too.
      await clock.advance(0);
      expect(transport.calls[0]?.timeoutMs, method).toBe(expected[method]);
      expect(transport.ended, method).toBe(1);
      expect(clock.pending, method).toBe(0);
    }
  });

  it('takes configured timeouts and a per-call override', async () => {
    const clock = new VirtualClock();
    const client = new ProtocolClient(new SilentTransport(clock), { clock, timeouts: { peers: 1_234 } });
    expect(await endOf(clock, client.peers('p:1', {}))).toEqual({ at: 1_234, code: ErrorCodes.TIMEOUT });
    expect(await endOf(clock, client.peers('p:1', {}, { timeoutMs: 50 }))).toEqual({ at: 1_284, code: ErrorCodes.TIMEOUT });
  });

  it('refuses call options and client options it cannot take, naming them, before sending anything', async () => {
    const clock = new VirtualClock();
    const transport = new SilentTransport(clock);
    const client = new ProtocolClient(transport, { clock });
    for (const [options, option] of [[{ signal: 'x' }, 'signal'], [{ timeoutMs: NaN }, 'timeoutMs'], [{ timeoutMs: Infinity }, 'timeoutMs'], [{ timeoutMs: -5 }, 'timeoutMs'], [{ timeoutMs: '10' }, 'timeoutMs']] as const) {
      await expect(client.ping('p:1', { network: 'main', sequenceLength: 5 }, options as never), option).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
    }
    expect(transport.calls).toHaveLength(0);
    for (const [build, option] of [
      [() => new ProtocolClient(null as never), 'transport'],
      [() => new ProtocolClient(transport, { timeout: { ping: 5 } } as never), 'timeout'],
      [() => new ProtocolClient(transport, { clock: {} as never }), 'clock'],
      [() => new ProtocolClient(transport, { signal: {} as never }), 'signal'],
    ] as const) {
      expect(build, option).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, option }));
    }
  });

  it('says TIMEOUT at the deadline and ABORTED on the caller\'s abort, even from a transport that ignores its signal', async () => {
    const clock = new VirtualClock();
    const client = new ProtocolClient(new SilentTransport(clock, 'nothing'), { clock });
    expect(await endOf(clock, client.peers('p:1', {}, { timeoutMs: 100 }))).toEqual({ at: 100, code: ErrorCodes.TIMEOUT });
    const caller = new AbortController();
    const pending = client.peers('p:1', {}, { signal: caller.signal });
    clock.setTimeout(() => caller.abort(new AtlasError(ErrorCodes.CLOSED, 'node closed')), 40);
    expect(await endOf(clock, pending)).toEqual({ at: 140, code: ErrorCodes.ABORTED });
    expect(clock.pending).toBe(0);
  });

  it('names the outcome by its cause, whatever error the transport gave when it saw the abort', async () => {
    const clock = new VirtualClock();
    const transport = new SilentTransport(clock); // rejects with ABORTED on any abort or timeout
    const client = new ProtocolClient(transport, { clock });
    expect((await endOf(clock, client.getChunks('p:1', { addresses: [] }, { timeoutMs: 10 }))).code).toBe(ErrorCodes.TIMEOUT);
    const caller = new AbortController();
    const pending = client.getChunks('p:1', { addresses: [] }, { signal: caller.signal, timeoutMs: 10 });
    caller.abort();
    expect((await endOf(clock, pending)).code).toBe(ErrorCodes.ABORTED);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const transport = new SilentTransport();
    const aborted = new AbortController();
    aborted.abort();
    expect((await rejection(new ProtocolClient(transport).peers('p:1', {}, { signal: aborted.signal }))).code).toBe(ErrorCodes.ABORTED);
    expect(transport.signals).toHaveLength(0);
  });

  it('gives every call a signal of its own: 50 calls on one shared signal add one listener to it, gone when they end', async () => {
    const clock = new VirtualClock();
    const transport = new SilentTransport(clock);
    const client = new ProtocolClient(transport, { clock });
    const shared = new AbortController();
    const pending = Array.from({ length: 50 }, () => client.peers('p:1', {}, { signal: shared.signal }).catch((e: unknown) => (e as AtlasError).code));
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    expect(new Set(transport.signals).size).toBe(50);
    shared.abort();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 50 }, () => ErrorCodes.ABORTED));
    expect(clock.pending).toBe(0);
    // Calls that end on their own (here at their deadline) take the listener away with them.
    const kept = new AbortController();
    const timedOut = Array.from({ length: 20 }, () => client.peers('p:1', {}, { signal: kept.signal, timeoutMs: 10 }).catch((e: unknown) => (e as AtlasError).code));
    expect(getEventListeners(kept.signal, 'abort')).toHaveLength(1);
    await clock.advance(10);
    expect(await Promise.all(timedOut)).toEqual(Array.from({ length: 20 }, () => ErrorCodes.TIMEOUT));
    expect(getEventListeners(kept.signal, 'abort')).toHaveLength(0);
    expect(transport.signals.slice(50).every((signal) => signal?.aborted)).toBe(true);
  });

  it('hands the transport its lifetime signal and the timeout, no signal of the call\'s own, unless the caller brings another', async () => {
    const clock = new VirtualClock();
    const transport = new SilentTransport(clock);
    const lifetime = new AbortController();
    const client = new ProtocolClient(transport, { clock, signal: lifetime.signal });
    const plain = client.peers('p:1', {}).catch((e: unknown) => (e as AtlasError).code);
    const following = client.peers('p:1', {}, { signal: lifetime.signal, timeoutMs: 50 }).catch((e: unknown) => (e as AtlasError).code);
    const own = new AbortController();
    const separate = client.peers('p:1', {}, { signal: own.signal }).catch((e: unknown) => (e as AtlasError).code);
    expect(transport.calls.map((c) => [c.signal === lifetime.signal, c.timeoutMs])).toEqual([
      [true, 10_000],
      [true, 50],
      [false, 10_000],
    ]);
    expect(transport.calls[2]?.signal).toBeInstanceOf(AbortSignal);
    lifetime.abort(new AtlasError(ErrorCodes.CLOSED, 'node closed'));
    expect(await Promise.all([plain, following, separate])).toEqual([ErrorCodes.ABORTED, ErrorCodes.ABORTED, ErrorCodes.ABORTED]);
    expect(transport.ended).toBe(3);
    expect(clock.pending).toBe(0);
  });

  it('gives a transport that does not say it honours timeoutMs a signal of each call\'s own, which ends the call at its deadline', async () => {
    const clock = new VirtualClock();
    const transport = new SilentTransport(clock, 'signal');
    const lifetime = new AbortController();
    const client = new ProtocolClient(transport, { clock, signal: lifetime.signal });
    const calls = [client.peers('p:1', {}), client.peers('p:2', {}, { signal: lifetime.signal })].map((call) => call.catch((e: unknown) => (e as AtlasError).code));
    expect(transport.signals.every((signal) => signal !== undefined && signal !== lifetime.signal)).toBe(true);
    await clock.advance(10_000);
    expect(await Promise.all(calls)).toEqual([ErrorCodes.TIMEOUT, ErrorCodes.TIMEOUT]);
    // The transport let go of both at the deadline: nothing held until the owner closes.
    expect(transport.ended).toBe(2);
    expect(transport.signals.every((signal) => signal?.aborted)).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('scopes calls to a part of the owner: they share the scope\'s signal, end with it or with the owner, and leave the owner\'s calls alone', async () => {
    const clock = new VirtualClock();
    const transport = new SilentTransport(clock);
    const lifetime = new AbortController();
    const client = new ProtocolClient(transport, { clock, signal: lifetime.signal });
    const code = (promise: Promise<unknown>) => promise.then(() => 'resolved', (e: unknown) => (e as AtlasError).code);
    const scope = client.scope();
    const scoped = [code(scope.client.peers('p:1', {})), code(scope.client.peers('p:2', {}, { signal: scope.signal }))];
    const owners = code(client.peers('p:1', {}));
    expect(transport.calls.map((c) => [c.signal === scope.signal, c.timeoutMs])).toEqual([
      [true, 10_000],
      [true, 10_000],
      [false, 10_000],
    ]);
    scope.abort(new AtlasError(ErrorCodes.CLOSED, 'part stopped'));
    expect(await Promise.all(scoped)).toEqual([ErrorCodes.ABORTED, ErrorCodes.ABORTED]);
    expect(await code(scope.client.peers('p:1', {}))).toBe(ErrorCodes.ABORTED);
    expect(transport.calls).toHaveLength(3); // nothing sent once aborted
    expect(transport.ended).toBe(2);
    // The owner's call goes on until the owner closes; a second scope then ends with it.
    const second = client.scope();
    const late = code(second.client.peers('p:1', {}));
    lifetime.abort(new AtlasError(ErrorCodes.CLOSED, 'node closed'));
    expect(await Promise.all([owners, late])).toEqual([ErrorCodes.ABORTED, ErrorCodes.ABORTED]);
    expect(second.signal.aborted).toBe(true);
    expect(client.scope().signal.aborted).toBe(true); // made after the owner closed
    expect(clock.pending).toBe(0);
  });

  it('lets go of the owner\'s lifetime when a scope is aborted', () => {
    const lifetime = new AbortController();
    const client = new ProtocolClient(new SilentTransport(), { signal: lifetime.signal });
    const before = followerCount(lifetime.signal);
    const scopes = [client.scope(), client.scope(), client.scope()];
    expect(followerCount(lifetime.signal)).toBe(before + 3);
    for (const scope of scopes) scope.abort();
    expect(followerCount(lifetime.signal)).toBe(before);
  });

  it('clears its deadline when the call settles first', async () => {
    const clock = new VirtualClock();
    const client = new ProtocolClient(new FakeTransport(() => ({ peers: [] })), { clock });
    await client.peers('p:1', {});
    expect(clock.pending).toBe(0);
  });
});

describe('ProtocolClient: requests', () => {
  it('sends validated, normalised params and never sends an invalid request', async () => {
    const transport = new FakeTransport(() => ({ chunks: [], missing: [A] }));
    const client = new ProtocolClient(transport);
    await client.getChunks('p:1', { addresses: [A.toUpperCase(), A] });
    expect(transport.sent[0]?.params).toEqual({ addresses: [A], inOrder: true });
    const many = Array.from({ length: DEFAULT_LIMITS.maxGetAddresses + 1 }, (_, i) => i.toString(16).padStart(40, '0'));
    expect((await rejection(client.getChunks('p:1', { addresses: many }))).code).toBe(ErrorCodes.TOO_MANY);
    expect(transport.sent).toHaveLength(1);
  });

  it('packs the addresses when asked (20 bytes each, validated and de-duplicated first), and reads the reply against them', async () => {
    const asked = (params: unknown) => {
      const { addresses } = params as { addresses: unknown[] | Uint8Array };
      return addresses instanceof Uint8Array ? addresses.length / 20 : addresses.length;
    };
    const transport = new FakeTransport((_method, params) => ({ inOrder: [new Uint8Array([1]), null].slice(0, asked(params)) }));
    const client = new ProtocolClient(transport);
    const reply = await client.getChunks('p:1', { addresses: [B.toUpperCase(), C, B] }, { packed: true });
    const sent = transport.sent[0]?.params as { addresses: Uint8Array; inOrder: boolean };
    expect(sent.inOrder).toBe(true);
    expect(Buffer.from(sent.addresses).toString('hex')).toBe(B + C);
    expect(reply).toEqual({ chunks: [{ address: B, data: new Uint8Array([1]) }], missing: [C] });
    await client.getChunks('p:1', { addresses: [B] }, { packed: false });
    expect(transport.sent[1]?.params).toEqual({ addresses: [B], inOrder: true });
  });

  it('sends a list the library vouched for as it is, still bounded, and reads the reply against it; a vouched list cannot change', async () => {
    const transport = new FakeTransport(() => ({ inOrder: [new Uint8Array([1]), null] }));
    const client = new ProtocolClient(transport);
    const vouched = vouchForAddresses([B, C]);
    expect(() => (vouched as unknown as string[]).push(A)).toThrow(TypeError);
    const reply = await client.getChunks('p:1', { addresses: vouched });
    expect(transport.sent[0]?.params).toEqual({ addresses: [B, C], inOrder: true });
    // The same list is sent as it is, not as a copy the client made while checking it.
    expect((transport.sent[0]?.params as { addresses: unknown }).addresses).toBe(vouched);
    expect(reply).toEqual({ chunks: [{ address: B, data: new Uint8Array([1]) }], missing: [C] });
    // An unvouched list with the same addresses is checked and copied.
    await client.getChunks('p:1', { addresses: [B, C] });
    expect((transport.sent[1]?.params as { addresses: unknown }).addresses).not.toBe(vouched);
    // A vouched list longer than maxGetAddresses is refused like any other, before anything is sent.
    const many = vouchForAddresses(Array.from({ length: DEFAULT_LIMITS.maxGetAddresses + 1 }, (_, i) => i.toString(16).padStart(40, '0')));
    expect((await rejection(client.getChunks('p:1', { addresses: many }))).code).toBe(ErrorCodes.TOO_MANY);
    expect(transport.sent).toHaveLength(2);
  });

  it('sends the packed form a list was vouched for with as it is, and packs the hex itself when it has none or one of the wrong size', async () => {
    const transport = new FakeTransport(() => ({ inOrder: [new Uint8Array([1]), null] }));
    const client = new ProtocolClient(transport);
    const packed = Buffer.from(B + C, 'hex');
    const withPacked = vouchForAddresses([B, C], packed);
    const reply = await client.getChunks('p:1', { addresses: withPacked }, { packed: true });
    expect((transport.sent[0]?.params as { addresses: unknown }).addresses).toBe(packed);
    expect(reply).toEqual({ chunks: [{ address: B, data: new Uint8Array([1]) }], missing: [C] });
    // A packed form of another length than the list is not taken: the hex is packed.
    const wrongSize = vouchForAddresses([B, C], Buffer.from(B, 'hex'));
    await client.getChunks('p:1', { addresses: wrongSize }, { packed: true });
    const sent = (transport.sent[1]?.params as { addresses: Uint8Array }).addresses;
    expect(Buffer.from(sent).toString('hex')).toBe(B + C);
    // Asked for the hex form, the list goes as hex whatever it was vouched with.
    await client.getChunks('p:1', { addresses: withPacked });
    expect((transport.sent[2]?.params as { addresses: unknown }).addresses).toBe(withPacked);
  });

  it('passes transport errors through and wraps anything else as UNREACHABLE', async () => {
    const timeout = new FakeTransport(() => {
      throw new AtlasError(ErrorCodes.TIMEOUT, 'too slow');
    });
    expect((await rejection(new ProtocolClient(timeout).peers('p:1'))).code).toBe(ErrorCodes.TIMEOUT);
    const broken = new FakeTransport(() => {
      throw new Error('socket hang up');
    });
    const error = await rejection(new ProtocolClient(broken).peers('p:1'));
    expect(error.code).toBe(ErrorCodes.UNREACHABLE);
    expect((error.cause as Error).message).toBe('socket hang up');
  });
});

describe('ProtocolClient: lying replies are BAD_REPLY', () => {
  const lie = async (reply: unknown, call: (client: ProtocolClient) => Promise<unknown>) =>
    (await rejection(call(new ProtocolClient(new FakeTransport(() => reply))))).code;

  it('getChunks: a chunk that was not asked for', async () => {
    const reply = { chunks: [{ address: C, data: Uint8Array.of(1) }], missing: [] };
    expect(await lie(reply, (c) => c.getChunks('p:1', { addresses: [A, B] }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('getChunks: a "missing" address that was not asked for', async () => {
    expect(await lie({ chunks: [], missing: [C] }, (c) => c.getChunks('p:1', { addresses: [A] }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('getChunks: an honest reply passes, normalised', async () => {
    const client = new ProtocolClient(new FakeTransport(() => ({ chunks: [{ address: A.toUpperCase(), data: Uint8Array.of(9) }], missing: [B], extra: 1 })));
    expect(await client.getChunks('p:1', { addresses: [A, B] })).toEqual({ chunks: [{ address: A, data: Uint8Array.of(9) }], missing: [B] });
  });

  it('inventory: more bytes than asked', async () => {
    const reply = { sequenceLength: 800, inventory: version, bytes: new Uint8Array(11) };
    expect(await lie(reply, (c) => c.inventory('p:1', { offset: 0, length: 10 }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('inventoryChanges: added is not bytes', async () => {
    const reply = { complete: true, sequenceLength: 8, inventory: version, added: [1, 2] };
    expect(await lie(reply, (c) => c.inventoryChanges('p:1', { since: version }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('peers: more than maxPeersReply', async () => {
    const peers = Array.from({ length: 5 }, (_, i) => `n${i}`);
    const client = new ProtocolClient(new FakeTransport(() => ({ peers })), { limits: { maxPeersReply: 4 } });
    expect((await rejection(client.peers('p:1'))).code).toBe(ErrorCodes.BAD_REPLY);
  });

  it('putChunks: not one answer per chunk', async () => {
    expect(await lie({ saved: [true] }, (c) => c.putChunks('p:1', { chunks: [Uint8Array.of(1), Uint8Array.of(2)] }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('ping: a digest over more than our sequence', async () => {
    expect(await lie({ ...pingReply, digestLength: 6 }, (c) => c.ping('p:1', { network: 'main', sequenceLength: 5 }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('offer: wants more than was offered', async () => {
    expect(await lie({ wanted: 2 }, (c) => c.offer('p:1', { from: 'me:1', added: Uint8Array.of(4) }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('a reply that is not an object at all', async () => {
    for (const reply of [null, undefined, 'ok', [1]]) expect(await lie(reply, (c) => c.peers('p:1'))).toBe(ErrorCodes.BAD_REPLY);
  });
});

describe('ProtocolClient and createProtocolService together', () => {
  it('round-trips every method through one handler', async () => {
    const service: AtlasService = {
      ping: async (params) => ({ ...pingReply, digestLength: Math.min(params.sequenceLength, 10) }),
      peers: async (params) => ({ peers: ['n1', 'n2'].filter((p) => p !== params.from) }),
      inventory: async (params) => ({ sequenceLength: 10, inventory: version, bytes: Uint8Array.of(0xff, 0xc0).slice(params.offset, params.offset + params.length) }),
      inventoryChanges: async () => ({ complete: true, sequenceLength: 10, inventory: { epoch: 'e1', version: 3 }, added: Uint8Array.of(9) }),
      getChunks: async (params) => ({ chunks: [{ address: params.addresses[0] as string, data: Uint8Array.of(1) }], missing: params.addresses.slice(1) }),
      putChunks: async (params) => ({ saved: params.chunks.map((c) => c.length > 0) }),
      offer: async () => ({ wanted: 1 }),
    };
    const remotes: string[] = [];
    const handle = createProtocolService({
      ...service,
      peers: (params, context: CallerContext) => {
        remotes.push(context.remote);
        return service.peers(params, context);
      },
    });
    const client = new ProtocolClient(new FakeTransport((method, params) => handle(method, structuredClone(params), contextFrom('me:1'))));
    expect((await client.ping('p:1', { network: 'main', sequenceLength: 4 })).digestLength).toBe(4);
    expect(await client.peers('p:1', { from: 'n1' })).toEqual({ peers: ['n2'] });
    expect(remotes).toEqual(['me:1']);
    expect((await client.inventory('p:1', { offset: 1, length: 5 })).bytes).toEqual(Uint8Array.of(0xc0));
    expect((await client.inventoryChanges('p:1', { since: version })).complete).toBe(true);
    expect(await client.getChunks('p:1', { addresses: [A, B] })).toEqual({ chunks: [{ address: A, data: Uint8Array.of(1) }], missing: [B] });
    expect(await client.putChunks('p:1', { chunks: [Uint8Array.of(1), new Uint8Array(0)] })).toEqual({ saved: [true, false] });
    expect(await client.offer('p:1', { from: 'me:1', added: Uint8Array.of(3) })).toEqual({ wanted: 1 });
  });

  it('carries a refusal from the serving side back as the same code', async () => {
    // The server is stricter than the client, so the request passes the client and fails there.
    const strict = createProtocolService({} as AtlasService, { limits: { maxGetAddresses: 1 } });
    const transport = new FakeTransport((method, params) => strict(method, params, contextFrom('x')));
    expect((await rejection(new ProtocolClient(transport).getChunks('p:1', { addresses: [A, B] }))).code).toBe(ErrorCodes.TOO_MANY);
    expect(transport.sent).toHaveLength(1);
  });

  it('refuses an unknown method locally, without sending it', async () => {
    const transport = new FakeTransport(() => ({}));
    expect((await rejection(new ProtocolClient(transport).call('p:1', 'nope' as never, {} as never))).code).toBe(ErrorCodes.UNKNOWN_METHOD);
    expect(transport.sent).toHaveLength(0);
  });
});
