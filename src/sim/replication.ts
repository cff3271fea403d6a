/**
 * Replication over time: which chunks the honest nodes hold, sampled as the fraction of nodes
 * holding each chunk (min, median, max over chunks), and for every chunk the time from its first
 * put to the moment every honest node held it.
 */
import type { Address } from '../address.js';

/** Replication at one moment of a run: the fraction of honest nodes holding each chunk, over the chunks. */
export interface ReplicationSample {
  /** Virtual ms. */
  time: number;
  /** Chunks counted: announced and put somewhere by then. */
  chunks: number;
  /** Honest nodes at that time. */
  nodes: number;
  /** Fractions of the honest nodes holding a chunk, over those chunks. */
  min: number;
  median: number;
  max: number;
  mean: number;
}

/** Options of `new Replication(...)`. */
export interface ReplicationOptions {
  /** Most samples kept; beyond it every other sample is dropped, so a long run stays bounded. Default 4,096. */
  maxSamples?: number;
}

interface ChunkState {
  /** Bit index of the chunk in every node's holding bitmap. */
  index: number;
  holders: number;
  putAt: number | undefined;
  fullAt: number | undefined;
  announced: boolean;
}

/** A simulation's replication bookkeeping: which chunks the honest nodes hold, sampled over time (`Simulation.replication`). */
export class Replication {
  private readonly chunks = new Map<Address, ChunkState>();
  private readonly nodes = new Set<string>();
  /** Per node, one bit per chunk index: a bitmap, since 1,000 nodes x 10,000 chunks must stay small. */
  private readonly held = new Map<string, Uint8Array>();
  private readonly maxSamples: number;
  private stride = 1;
  private sampleIndex = 0;
  readonly samples: ReplicationSample[] = [];
  /** Chunk bytes honest nodes stored from peers (each chunk counted once per node). */
  usefulBytes = 0;
  usefulChunks = 0;

  constructor(options: ReplicationOptions = {}) {
    this.maxSamples = Math.max(2, options.maxSamples ?? 4_096);
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  /** Counts `name` among the honest nodes whose holdings are followed. */
  addHolder(name: string): void {
    this.nodes.add(name);
    if (!this.held.has(name)) this.held.set(name, new Uint8Array(Math.max(16, this.chunks.size >> 3)));
  }

  /** These addresses were announced. */
  announced(addresses: readonly Address[]): void {
    for (const address of addresses) this.state(address).announced = true;
  }

  /** After a rollback: only these addresses are still announced. */
  retain(announced: ReadonlySet<Address>): void {
    for (const [address, state] of this.chunks) state.announced = announced.has(address);
  }

  /** A client put `address` at virtual time `time` (the first put starts its time to reach every node). */
  put(address: Address, time: number): void {
    const state = this.state(address);
    state.putAt ??= time;
  }

  /** `name` stored `address` (fromPeer: it came over the network, not from a client's put). */
  stored(name: string, address: Address, fromPeer: boolean, size: number, time: number): void {
    let held = this.held.get(name);
    if (!held) return;
    const state = this.state(address);
    const byte = state.index >> 3;
    const mask = 0x80 >> (state.index & 7);
    if (byte >= held.length) {
      const grown = new Uint8Array(Math.max(byte + 1, held.length * 2));
      grown.set(held);
      this.held.set(name, (held = grown));
    }
    if ((held[byte] as number) & mask) return;
    held[byte] = (held[byte] as number) | mask;
    state.holders++;
    if (fromPeer) {
      this.usefulBytes += size;
      this.usefulChunks++;
    }
    if (state.fullAt === undefined && state.holders >= this.nodes.size) state.fullAt = time;
  }

  /** Whether `name` holds `address` by the events seen so far. */
  holds(name: string, address: Address): boolean {
    const state = this.chunks.get(address);
    const held = this.held.get(name);
    if (!state || !held) return false;
    return (((held[state.index >> 3] ?? 0) as number) & (0x80 >> (state.index & 7))) !== 0;
  }

  /** How many followed nodes hold `address`. */
  holdersOf(address: Address): number {
    return this.chunks.get(address)?.holders ?? 0;
  }

  /** Records a sample of replication at virtual time `time` (in `samples`, thinned as they grow). */
  sample(time: number): void {
    if (this.sampleIndex++ % this.stride !== 0) return;
    const n = this.nodes.size;
    const fractions: number[] = [];
    for (const state of this.chunks.values()) {
      if (!state.announced || (state.putAt === undefined && state.holders === 0)) continue;
      fractions.push(n === 0 ? 0 : state.holders / n);
    }
    if (fractions.length === 0) return;
    fractions.sort((a, b) => a - b);
    const sum = fractions.reduce((a, b) => a + b, 0);
    this.samples.push({
      time,
      chunks: fractions.length,
      nodes: n,
      min: fractions[0] as number,
      median: fractions[Math.floor((fractions.length - 1) / 2)] as number,
      max: fractions[fractions.length - 1] as number,
      mean: sum / fractions.length,
    });
    if (this.samples.length > this.maxSamples) {
      // Keep every other sample and sample half as often from now on.
      const kept = this.samples.filter((_, i) => i % 2 === 0);
      this.samples.length = 0;
      this.samples.push(...kept);
      this.stride *= 2;
    }
  }

  /** For each chunk put and then held by every honest node: ms from its first put to that moment. */
  timesToAll(): number[] {
    const times: number[] = [];
    for (const state of this.chunks.values()) {
      if (state.putAt !== undefined && state.fullAt !== undefined) times.push(state.fullAt - state.putAt);
    }
    return times.sort((a, b) => a - b);
  }

  /** Chunks announced now and put somewhere that not every honest node holds yet. */
  incomplete(): number {
    let count = 0;
    for (const state of this.chunks.values()) if (state.announced && state.putAt !== undefined && state.holders < this.nodes.size) count++;
    return count;
  }

  private state(address: Address): ChunkState {
    let state = this.chunks.get(address);
    if (!state) {
      state = { index: this.chunks.size, holders: 0, putAt: undefined, fullAt: undefined, announced: false };
      this.chunks.set(address, state);
    }
    return state;
  }
}
