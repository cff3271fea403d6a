/**
 * A transport wrapper that counts the chunk payload a node receives, whatever path it comes by:
 * chunks in the replies to its getChunks calls, and chunks pushed to it through putChunks. This
 * is the numerator of redundancy (chunk bytes received / useful chunk bytes), measured outside
 * the node so that the node's own bookkeeping is checked rather than trusted.
 */
import type { CallOptions, ListenOptions, RequestContext, Transport, TransportService, TransportStats } from '../transport/types.js';

/** Chunk payload a node received from peers, counted at its transport (`SimNode.received`). */
export interface ReceivedCounts {
  /** Chunk payload bytes in getChunks replies (valid or not, wanted or not). */
  fetchedBytes: number;
  fetchedChunks: number;
  /** Chunk payload bytes pushed to us through putChunks. */
  pushedBytes: number;
  pushedChunks: number;
}

export class ObservedTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    /** Where to count: pass the same object to a restarted node's transport to keep counting. */
    readonly received: ReceivedCounts = { fetchedBytes: 0, fetchedChunks: 0, pushedBytes: 0, pushedChunks: 0 },
  ) {}

  get address(): string | undefined {
    return this.inner.address;
  }

  get honoursTimeout(): boolean {
    return this.inner.honoursTimeout === true;
  }

  get handsOverReplies(): boolean {
    return this.inner.handsOverReplies === true;
  }

  listen(service: TransportService, options?: ListenOptions): Promise<string> {
    const handle = service.handle.bind(service);
    const counted: TransportService = {
      ...service,
      handle: (method: string, params: unknown, context: RequestContext) => {
        if (method === 'putChunks') this.countPushed(params);
        return handle(method, params, context);
      },
    };
    return this.inner.listen(counted, options);
  }

  call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown> {
    const call = this.inner.call(peer, method, params, options);
    // Only getChunks replies are counted; other calls pass through without another promise.
    if (method !== 'getChunks') return call;
    return call.then((reply) => {
      this.countFetched(reply);
      return reply;
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  stats(): TransportStats {
    return this.inner.stats?.() ?? { callsOut: 0, callsIn: 0, bytesOut: 0, bytesIn: 0 };
  }

  /** Either form of a getChunks reply: listed ({ chunks: [{ data }] }) or in order ({ inOrder: [bytes | null] }). */
  private countFetched(reply: unknown): void {
    const { chunks, inOrder } = (reply ?? {}) as { chunks?: unknown; inOrder?: unknown };
    if (Array.isArray(chunks)) for (const chunk of chunks) this.countFetchedData((chunk as { data?: unknown } | null)?.data);
    if (Array.isArray(inOrder)) for (const data of inOrder) this.countFetchedData(data);
  }

  private countFetchedData(data: unknown): void {
    if (!(data instanceof Uint8Array)) return;
    this.received.fetchedBytes += data.byteLength;
    this.received.fetchedChunks++;
  }

  private countPushed(params: unknown): void {
    const chunks = (params as { chunks?: unknown } | null)?.chunks;
    if (!Array.isArray(chunks)) return;
    for (const data of chunks) {
      if (data instanceof Uint8Array) {
        this.received.pushedBytes += data.byteLength;
        this.received.pushedChunks++;
      }
    }
  }
}
