import { setMaxListeners } from 'node:events';
import { encodePositions } from '../inventory/varint.js';
import type { ProtocolClient } from '../protocol/client.js';
import type { Clock } from '../runtime.js';

/** How locally put chunks are pushed and offered to peers: target count, queue bounds, deadline and batch size (AtlasNode option `push`). */
export interface PusherOptions {
  /** Most peers offered to: active neighbours plus recent pullers. */
  maxTargets: number;
  /** Most positions waiting for one target; beyond it they wait for that peer's next pull. */
  maxPendingPerTarget: number;
  /** A puller that has not pulled for this long stops receiving offers. */
  pullerTtlMs: number;
  /** Offer and push calls' deadline. */
  timeoutMs: number;
  /** Chunk bytes waiting to be pushed to one target; beyond it the chunk is offered instead. */
  maxPushBytesPerTarget: number;
  /** Chunks per putChunks call (the protocol's maxPutChunks). */
  pushBatch: number;
}

/** Defaults of PusherOptions. */
export const DEFAULT_PUSHER: Readonly<PusherOptions> = Object.freeze({
  maxTargets: 64,
  maxPendingPerTarget: 4_096,
  pullerTtlMs: 120_000,
  timeoutMs: 5_000,
  maxPushBytesPerTarget: 1 << 20,
  pushBatch: 5,
});

/** A chunk stored locally (put by a client), to push as bytes. */
export interface PushChunk {
  data: Uint8Array;
  positions: readonly number[];
}

interface Target {
  pending: Set<number>;
  pushes: PushChunk[];
  pushBytes: number;
  sending: boolean;
  /** Neighbours stay until removed; pullers expire. */
  expiresAt: number;
}

/**
 * Push. Chunks a client put here are pushed as bytes to neighbours and recent pullers that lack
 * them (a peer behind NAT can only spread its data this way). Chunks that arrived from a peer are
 * only offered: the receiver fetches what it lacks from one holder, so each chunk crosses a link
 * about once. One call in flight per target; the rest queue (bounded) and coalesce.
 */
export class Pusher {
  private readonly options: PusherOptions;
  private readonly targets = new Map<string, Target>();
  private readonly controller = new AbortController();
  offersSent = 0;
  chunksPushed = 0;

  constructor(
    private readonly client: ProtocolClient,
    private readonly clock: Clock,
    private readonly self: () => string | undefined,
    /** True when we know the peer already holds the position (it needs no offer). */
    private readonly peerHolds: (peer: string, position: number) => boolean,
    options?: Partial<PusherOptions>,
  ) {
    this.options = { ...DEFAULT_PUSHER, ...options };
    // One call in flight per target, each listening here: bounded by the targets kept.
    setMaxListeners(0, this.controller.signal);
  }

  /** A neighbour: offered to until removed. */
  addNeighbor(peer: string): void {
    this.upsert(peer, Infinity);
  }

  /** A peer that pulls our inventory: offered to until it stops pulling. */
  addPuller(peer: string): void {
    const existing = this.targets.get(peer);
    if (existing && existing.expiresAt === Infinity) return;
    this.upsert(peer, this.clock.now() + this.options.pullerTtlMs);
  }

  remove(peer: string): void {
    this.targets.delete(peer);
  }

  offer(positions: readonly number[]): void {
    const self = this.self();
    if (self === undefined || positions.length === 0) return;
    for (const [peer, target] of this.liveTargets()) {
      this.queueOffer(peer, target, positions);
      this.flush(peer, target, self);
    }
  }

  push(chunks: readonly PushChunk[]): void {
    const self = this.self();
    if (self === undefined || chunks.length === 0) return;
    for (const [peer, target] of this.liveTargets()) {
      for (const chunk of chunks) {
        if (chunk.positions.every((p) => this.peerHolds(peer, p))) continue;
        if (target.pushBytes + chunk.data.byteLength <= this.options.maxPushBytesPerTarget) {
          target.pushes.push(chunk);
          target.pushBytes += chunk.data.byteLength;
        } else {
          this.queueOffer(peer, target, chunk.positions);
        }
      }
      this.flush(peer, target, self);
    }
  }

  private *liveTargets(): Generator<[string, Target]> {
    const now = this.clock.now();
    for (const [peer, target] of this.targets) {
      if (target.expiresAt < now) this.targets.delete(peer);
      else yield [peer, target];
    }
  }

  private queueOffer(peer: string, target: Target, positions: readonly number[]): void {
    for (const position of positions) {
      if (target.pending.size >= this.options.maxPendingPerTarget) break;
      if (!this.peerHolds(peer, position)) target.pending.add(position);
    }
  }

  stop(): void {
    this.controller.abort();
    this.targets.clear();
  }

  private upsert(peer: string, expiresAt: number): void {
    const existing = this.targets.get(peer);
    if (existing) {
      existing.expiresAt = Math.max(existing.expiresAt, expiresAt);
      return;
    }
    if (this.targets.size >= this.options.maxTargets) {
      // Make room by dropping the puller closest to expiry; neighbours are never displaced.
      let victim: string | undefined;
      let soonest = Infinity;
      for (const [id, t] of this.targets) if (t.expiresAt < soonest) [victim, soonest] = [id, t.expiresAt];
      if (victim === undefined) return;
      this.targets.delete(victim);
    }
    this.targets.set(peer, { pending: new Set(), pushes: [], pushBytes: 0, sending: false, expiresAt });
  }

  private flush(peer: string, target: Target, self: string): void {
    if (target.sending) return;
    const options = { signal: this.controller.signal, timeoutMs: this.options.timeoutMs };
    let call: Promise<unknown>;
    if (target.pushes.length > 0) {
      const batch = target.pushes.splice(0, this.options.pushBatch);
      for (const chunk of batch) target.pushBytes -= chunk.data.byteLength;
      this.chunksPushed += batch.length;
      call = this.client.putChunks(peer, { chunks: batch.map((c) => c.data), from: self }, options);
    } else if (target.pending.size > 0) {
      const positions = Uint32Array.from(target.pending).sort();
      target.pending.clear();
      this.offersSent++;
      call = this.client.offer(peer, { from: self, added: encodePositions(positions) }, options);
    } else {
      return;
    }
    target.sending = true;
    call
      .catch(() => undefined) // push and offer are hints; the peer's next pull covers a lost one
      .finally(() => {
        target.sending = false;
        if (this.targets.get(peer) === target) this.flush(peer, target, self);
      });
  }
}
