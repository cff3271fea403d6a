/**
 * The Transport contract: what the node and ProtocolClient rely on from any transport. Each
 * transport's test file calls transportContract with a harness that builds a listening server and
 * a client for that transport; the suite runs in real time with short deadlines.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { formatCaller, type Caller, type PeerAddressFamily } from '../../src/peer-address.js';
import { Deadline } from '../../src/protocol/deadline.js';
import { systemClock } from '../../src/runtime.js';
import type { RequestContext, Transport, TransportService } from '../../src/transport/types.js';

export interface TransportHarness {
  /** A transport listening with `service`, and the address clients call it at. */
  server(service: TransportService): Promise<{ transport: Transport; address: string }>;
  /** A transport set up to listen, not listening yet. */
  listener(): Transport;
  /** A transport that can call the server (it need not listen). */
  client(): Transport;
  /** What the server's handler must see as `context.remote` for calls from `client`. */
  remoteOf(client: Transport): RegExp | string;
  /** What the handler must see as `context.caller` for calls from `client` (a port: any valid one). */
  callerOf(client: Transport): { host: string; family: PeerAddressFamily; port: 'any' | undefined };
  /** Releases what the harness itself holds (the transports are closed by the suite). */
  dispose?(): Promise<void>;
}

const ADDRESS = '0123456789abcdef0123456789abcdef01234567';
/** How soon after its signal aborts a call must have ended (real time, loopback or in process). */
const PROMPT_MS = 250;

/** Every shape a protocol message takes: nesting, nulls, bytes anywhere, empty bytes, a chunk-sized reply, unicode. */
export const SHAPES: Record<string, unknown> = {
  nested: { a: { b: [1, { c: 'd' }] }, n: null, t: true, f: -1.5 },
  bytesInArrays: { chunks: [new Uint8Array([1, 2, 3]), new Uint8Array(0), [new Uint8Array([255, 0])]] },
  emptyBytes: new Uint8Array(0),
  getChunksReply: { chunks: [{ address: ADDRESS, data: new Uint8Array(40_960).fill(9) }], missing: [ADDRESS] },
  getChunksInOrder: { inOrder: [new Uint8Array(40_960).fill(9), null, new Uint8Array([7])] },
  unicode: { s: 'z\u00e9\u4e2d\ud83d\ude00' },
};

/**
 * A service that echoes, refuses, crashes, returns a reply of `params.size` bytes ('big'), or
 * waits ('wait') until released or its signal aborts; it logs every call.
 */
export class ContractService implements TransportService {
  readonly calls: { method: string; params: unknown; remote: string; caller: Caller | undefined }[] = [];
  readonly aborted: string[] = [];
  /** Handlers of 'wait' running now. */
  inside = 0;
  private waiting: (() => void)[] = [];
  private entered: { count: number; resolve: () => void }[] = [];

  async handle(method: string, params: unknown, context: RequestContext): Promise<unknown> {
    this.calls.push({ method, params, remote: context.remote, caller: context.caller });
    switch (method) {
      case 'echo':
        return params;
      case 'refuse':
        throw new AtlasError(ErrorCodes.NOT_ANNOUNCED, 'chunk is not announced');
      case 'busy':
        throw new AtlasError(ErrorCodes.BUSY, 'try later');
      case 'busy-for':
        throw new AtlasError(ErrorCodes.BUSY, 'try later', { retryAfterMs: (params as { ms: number }).ms });
      case 'crash':
        throw new Error('secret /var/lib/atlas detail');
      case 'big':
        return { data: new Uint8Array((params as { size: number }).size) };
      case 'wait':
        this.inside++;
        for (const waiter of this.entered.splice(0)) {
          if (this.inside >= waiter.count) waiter.resolve();
          else this.entered.push(waiter);
        }
        try {
          return await new Promise((resolve, reject) => {
            this.waiting.push(() => resolve({ released: true }));
            context.signal?.addEventListener('abort', () => {
              this.aborted.push(method);
              reject(new AtlasError(ErrorCodes.ABORTED, 'aborted'));
            });
          });
        } finally {
          this.inside--;
        }
      default:
        throw new AtlasError(ErrorCodes.UNKNOWN_METHOD, `no method ${method}`);
    }
  }

  /** Resolves once `count` 'wait' handlers are running. */
  whenInside(count = 1): Promise<void> {
    if (this.inside >= count) return Promise.resolve();
    return new Promise((resolve) => this.entered.push({ count, resolve }));
  }

  /** Lets every waiting 'wait' handler answer `{ released: true }`. */
  release(): void {
    for (const release of this.waiting.splice(0)) release();
  }

  /** Resolves once a handler has seen `count` aborts (polls: the abort crosses the transport). */
  async whenAborted(count: number): Promise<boolean> {
    for (let i = 0; i < 200 && this.aborted.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return this.aborted.length >= count;
  }
}

/** The AtlasError code a call failed with, 'resolved', or a note that it failed otherwise. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof AtlasError ? error.code : `not an AtlasError: ${String(error)}`;
  }
}

export function transportContract(name: string, harness: TransportHarness): void {
  describe(`Transport contract: ${name}`, () => {
    const open: Transport[] = [];
    const services: ContractService[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
      await harness.dispose?.();
      // Every request of every test reached its handler with a caller the transport identified.
      const unidentified = services.splice(0).flatMap((s) => s.calls.filter((c) => c.caller === undefined || c.caller.family === 'unknown'));
      expect(unidentified.map((c) => `${c.method} from ${c.remote}`)).toEqual([]);
    });

    async function pair() {
      const service = new ContractService();
      services.push(service);
      const { transport: server, address } = await harness.server(service);
      const client = harness.client();
      open.push(server, client);
      return { service, server, address, client };
    }

    it('refuses to listen with an aborted signal (ABORTED), and may listen afterwards', async () => {
      const listener = harness.listener();
      const client = harness.client();
      open.push(listener, client);
      const service = new ContractService();
      services.push(service);
      await expect(listener.listen(service, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
      const address = await listener.listen(service, { signal: new AbortController().signal });
      expect(await client.call(address, 'echo', 'again')).toBe('again');
    });

    it('refuses a call option it does not know (INVALID_OPTION naming it) before sending anything', async () => {
      const { service, address, client } = await pair();
      const before = service.calls.length;
      const error = await client.call(address, 'echo', 'x', { timeout: 5 } as never).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'timeout' });
      expect(service.calls.length).toBe(before);
      expect(await client.call(address, 'echo', 'y', { timeoutMs: 5_000, maxReplyBytes: 1_000, signal: new AbortController().signal })).toBe('y');
    });

    it('listens once: a second listen() is ALREADY_STARTED and leaves the first serving', async () => {
      const { service, server, address, client } = await pair();
      expect(await codeOf(server.listen(service))).toBe(ErrorCodes.ALREADY_STARTED);
      expect(server.address).toBe(address);
      expect(await client.call(address, 'echo', 'still')).toBe('still');
    });

    it('ends a call whose reply passes its maxReplyBytes with BAD_REPLY, and takes one within it', async () => {
      const { address, client } = await pair();
      expect(await codeOf(client.call(address, 'big', { size: 50_000 }, { maxReplyBytes: 20_000 }))).toBe(ErrorCodes.BAD_REPLY);
      expect(await client.call(address, 'big', { size: 5_000 }, { maxReplyBytes: 20_000 })).toMatchObject({ data: expect.any(Uint8Array) });
    });

    it('round-trips every message shape, bytes as Uint8Array', async () => {
      const { address, client } = await pair();
      for (const [shape, value] of Object.entries(SHAPES)) {
        expect(await client.call(address, 'echo', value), shape).toStrictEqual(value);
      }
    });

    it('hands its replies over when it says so: a reply\'s bytes stay as they were through many calls after it', async () => {
      const { address, client } = await pair();
      if (client.handsOverReplies !== true) return; // a transport that does not say so gets its replies copied
      const first = (await client.call(address, 'echo', { chunks: [new Uint8Array(40).fill(1), new Uint8Array(300).fill(2)] })) as { chunks: Uint8Array[] };
      for (let i = 0; i < 300; i++) await client.call(address, 'echo', { chunks: [new Uint8Array(40 + (i % 7)).fill(200 + (i % 50)), new Uint8Array(300).fill(i % 256)] });
      expect(first.chunks[0]!.every((byte) => byte === 1)).toBe(true);
      expect(first.chunks[1]!.every((byte) => byte === 2)).toBe(true);
    });

    it('tells the handler the method and who called', async () => {
      const { service, address, client } = await pair();
      await client.call(address, 'echo', {});
      expect(service.calls).toHaveLength(1);
      expect(service.calls[0]!.method).toBe('echo');
      const remote = harness.remoteOf(client);
      if (typeof remote === 'string') expect(service.calls[0]!.remote).toBe(remote);
      else expect(service.calls[0]!.remote).toMatch(remote);
    });

    it('tells the handler who called as a structured address that agrees with remote', async () => {
      const { service, address, client } = await pair();
      await client.call(address, 'echo', {});
      const caller = service.calls[0]!.caller;
      const expected = harness.callerOf(client);
      if (caller === undefined || caller.family === 'unknown') throw new Error(`the transport did not identify the caller: ${JSON.stringify(caller)}`);
      expect(caller.host).toBe(expected.host);
      expect(caller.family).toBe(expected.family);
      if (expected.port === undefined) expect(caller.port).toBeUndefined();
      else expect(caller.port).toSatisfy((port: unknown) => Number.isInteger(port) && (port as number) > 0 && (port as number) <= 65_535);
      expect(formatCaller(caller)).toBe(service.calls[0]!.remote);
    });

    it('keeps error codes and messages across the wire, and hides unexpected errors', async () => {
      const { address, client } = await pair();
      expect(await codeOf(client.call(address, 'refuse', {}))).toBe(ErrorCodes.NOT_ANNOUNCED);
      expect(await codeOf(client.call(address, 'busy', {}))).toBe(ErrorCodes.BUSY);
      await expect(client.call(address, 'refuse', {})).rejects.toThrow('chunk is not announced');
      await expect(client.call(address, 'crash', {})).rejects.toMatchObject({ code: ErrorCodes.INTERNAL, message: 'internal error' });
    });

    it('carries the pause a BUSY asks for, and nothing else of its details', async () => {
      const { address, client } = await pair();
      await expect(client.call(address, 'busy-for', { ms: 2_500 })).rejects.toMatchObject({ code: ErrorCodes.BUSY, details: { retryAfterMs: 2_500 } });
      await expect(client.call(address, 'busy-for', { ms: 1e12 })).rejects.toMatchObject({ details: { retryAfterMs: 3_600_000 } });
      const plain = await client.call(address, 'busy', {}).catch((error: unknown) => error as AtlasError);
      expect((plain as AtlasError).details).toBeUndefined();
      const refused = await client.call(address, 'refuse', {}).catch((error: unknown) => error as AtlasError);
      expect((refused as AtlasError).details).toBeUndefined();
    });

    it('passes unknown methods to the service, whose UNKNOWN_METHOD reaches the caller', async () => {
      const { service, address, client } = await pair();
      expect(await codeOf(client.call(address, 'nope', {}))).toBe(ErrorCodes.UNKNOWN_METHOD);
      expect(service.calls.map((c) => c.method)).toEqual(['nope']);
    });

    it('ends a call when a deadline aborts its signal, with the deadline\'s TIMEOUT, and the handler sees the caller leave', async () => {
      const { service, address, client } = await pair();
      const started = Date.now();
      const deadline = new Deadline(systemClock, 100);
      expect(await codeOf(client.call(address, 'wait', {}, { signal: deadline.signal }))).toBe(ErrorCodes.TIMEOUT);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(90);
      expect(took).toBeLessThan(100 + PROMPT_MS);
      expect(await service.whenAborted(1)).toBe(true);
    });

    it('ends a call at its timeoutMs with TIMEOUT, without any signal, and the handler sees the caller leave', async () => {
      const { service, address, client } = await pair();
      const started = Date.now();
      expect(await codeOf(client.call(address, 'wait', {}, { timeoutMs: 100 }))).toBe(ErrorCodes.TIMEOUT);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(90);
      expect(took).toBeLessThan(100 + PROMPT_MS);
      expect(await service.whenAborted(1)).toBe(true);
      // A call given a timeout that answers in time answers as any other.
      expect(await codeOf(client.call(address, 'echo', {}, { timeoutMs: 100 }))).toBe('resolved');
    });

    it('follows one signal shared by many calls through one listener, and ends them all when it aborts', async () => {
      const { service, address, client } = await pair();
      const shared = new AbortController();
      const inside = service.whenInside(3);
      const calls = [0, 1, 2].map(() => codeOf(client.call(address, 'wait', {}, { signal: shared.signal, timeoutMs: 60_000 })));
      await inside;
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      shared.abort(new AtlasError(ErrorCodes.CLOSED, 'owner closed'));
      expect(await Promise.all(calls)).toEqual([ErrorCodes.CLOSED, ErrorCodes.CLOSED, ErrorCodes.CLOSED]);
      expect(await service.whenAborted(3)).toBe(true);
    });

    it('aborts on the signal, before or during the call, promptly, and the handler sees it', async () => {
      const { service, address, client } = await pair();
      const before = new AbortController();
      before.abort();
      expect(await codeOf(client.call(address, 'echo', {}, { signal: before.signal }))).toBe(ErrorCodes.ABORTED);
      expect(service.calls).toHaveLength(0); // nothing was sent
      for (let round = 1; round <= 3; round++) {
        const during = new AbortController();
        const inside = service.whenInside();
        const call = codeOf(client.call(address, 'wait', {}, { signal: during.signal }));
        await inside;
        const abortedAt = Date.now();
        during.abort(new Error('caller gave up'));
        expect(await call).toBe(ErrorCodes.ABORTED);
        expect(Date.now() - abortedAt).toBeLessThan(PROMPT_MS);
        expect(await service.whenAborted(round)).toBe(true);
      }
    });

    it('leaves no listener on the signal once a call ends: answered, refused, aborted or past a deadline', async () => {
      const { service, address, client } = await pair();
      const signal = new AbortController().signal;
      expect(await codeOf(client.call(address, 'echo', {}, { signal }))).toBe('resolved');
      expect(await codeOf(client.call(address, 'refuse', {}, { signal }))).toBe(ErrorCodes.NOT_ANNOUNCED);
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      const caller = new AbortController();
      const inside = service.whenInside();
      const aborted = codeOf(client.call(address, 'wait', {}, { signal: caller.signal }));
      await inside;
      expect(getEventListeners(caller.signal, 'abort').length).toBeGreaterThan(0);
      caller.abort();
      expect(await aborted).toBe(ErrorCodes.ABORTED);
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
      const deadline = new Deadline(systemClock, 50);
      expect(await codeOf(client.call(address, 'wait', {}, { signal: deadline.signal }))).toBe(ErrorCodes.TIMEOUT);
      expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
    });

    it('close() fails the calls in flight with CLOSED, refuses new calls, and may be called twice', async () => {
      const { service, address, client } = await pair();
      const inside = service.whenInside();
      const inFlight = client.call(address, 'wait', {});
      await inside;
      await client.close();
      expect(await codeOf(inFlight)).toBe(ErrorCodes.CLOSED);
      expect(await codeOf(client.call(address, 'echo', {}))).toBe(ErrorCodes.CLOSED);
      await client.close();
      expect(await service.whenAborted(1)).toBe(true);
    });

    it('a server that closes while handling aborts its handlers; that call and later ones fail with UNREACHABLE', async () => {
      const { service, server, address, client } = await pair();
      const inside = service.whenInside();
      const inFlight = codeOf(client.call(address, 'wait', {}, { signal: new Deadline(systemClock, 5_000).signal }));
      await inside;
      await server.close();
      expect(await service.whenAborted(1)).toBe(true);
      expect(await inFlight).toBe(ErrorCodes.UNREACHABLE);
      expect(await codeOf(client.call(address, 'echo', {}, { signal: new Deadline(systemClock, 5_000).signal }))).toBe(ErrorCodes.UNREACHABLE);
    });

    it('counts calls on both sides', async () => {
      const { server, address, client } = await pair();
      await client.call(address, 'echo', { data: new Uint8Array(100) });
      expect(client.stats?.()).toMatchObject({ callsOut: 1, callsIn: 0 });
      expect(server.stats?.()).toMatchObject({ callsOut: 0, callsIn: 1 });
      expect(client.stats!().bytesOut).toBeGreaterThan(100);
      expect(server.stats!().bytesIn).toBeGreaterThan(100);
    });
  });
}
