/**
 * The deterministic network simulator: many AtlasNodes in one process on a MemoryNetwork, each
 * with a MemoryChunkStore, all driven by one VirtualClock and by random streams derived from one
 * seed. A run is a pure function of (scenario, seed): the trace digest at the end proves it.
 *
 * Nodes are real AtlasNodes: nothing of the protocol is modelled. What the simulator adds is the
 * world around them (a shared chain, latency, partitions, blocks, restarts, Byzantine peers) and
 * the bookkeeping to judge a run: replication over time, convergence, traffic, redundancy.
 *
 * Longer than 450 lines: one run's world (chain, network, clock, faults) and the bookkeeping that
 * judges it share every field; the scenario language and the figures already live apart.
 */
import type { Address } from '../address.js';
import { MemoryChain } from '../chain/memory.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { AtlasNode, type NodeTimers } from '../node/index.js';
import type { WalkPaceOptions } from '../peers/walk-pace.js';
import { LOCAL_ADDRESS_POLICY } from '../peers/address-policy.js';
import { ProtocolClient } from '../protocol/client.js';
import type { Random } from '../runtime.js';
import { MemoryChunkStore } from '../store/memory.js';
import type { AuditOptions } from '../sync/audit.js';
import type { DownloaderOptions } from '../sync/downloader-options.js';
import type { PusherOptions } from '../sync/pusher.js';
import { MemoryNetwork, type LatencySpec } from '../transport/memory.js';
import type { Transport } from '../transport/types.js';
import { ByzantineTransport, type ByzantineBehaviour } from './byzantine.js';
import { ObservedTransport, type ReceivedCounts } from './observed-transport.js';
import { Replication } from './replication.js';
import { streamFor } from './seeds.js';
import { Trace } from './trace.js';
import { VirtualClock } from './virtual-clock.js';

/** Per-node settings a scenario may tune (everything else is the node's default). */
export interface SimNodeTuning {
  timers?: Partial<NodeTimers>;
  walk?: Partial<WalkPaceOptions>;
  neighbors?: number;
  downloads?: Partial<DownloaderOptions>;
  push?: Partial<PusherOptions>;
  audit?: Partial<AuditOptions>;
  maxPeers?: number;
  maxPendingPeers?: number;
}

export interface SimulationOptions {
  seed: number;
  /** One-way latency of every message: a number, or a uniform range. Default 20..80 ms. */
  latencyMs?: number | { min: number; max: number };
  /** Probability that one message is lost. Default 0. */
  dropRate?: number;
  /** How cut links behave (see MemoryNetwork). Default 'refuse'. */
  cutLinks?: 'refuse' | 'drop';
  /** Network id the nodes use. Default 'simnet'. */
  network?: string;
  /** Settings every node gets unless addNode overrides them. */
  tuning?: SimNodeTuning;
  /** Replication is sampled this often (virtual ms). Default 250. */
  sampleEveryMs?: number;
  /** Latest trace events kept for inspection. Default 0. */
  traceKeep?: number;
  /** Timers fired before a run gives up, whatever its deadline: every loop stays bounded. Default 200 million. */
  maxEvents?: number;
}

export interface AddNodeOptions extends SimNodeTuning {
  seeds?: readonly string[];
  /** A Byzantine peer; honest when absent. */
  behaviour?: ByzantineBehaviour;
  /** Start serving and replicating at once (default true); false leaves the node open, not started. */
  start?: boolean;
}

export type SimRole = 'honest' | ByzantineBehaviour;

/** One simulated peer: its data outlives its process, so it can stop and start again. */
export interface SimNode {
  readonly name: string;
  readonly role: SimRole;
  readonly seeds: readonly string[];
  readonly tuning: SimNodeTuning;
  readonly store: MemoryChunkStore;
  /** The running process; undefined while stopped. */
  node: AtlasNode | undefined;
  /** Its peer table, as told by peer:add / peer:remove events (seeds included). */
  readonly table: Set<string>;
  /** Chunk payload received over every run of the process. */
  readonly received: ReceivedCounts;
  /** Downloader and pusher counters of earlier runs of the process (stats() restarts at zero). */
  readonly pastDownloads: { chunkBytesReceived: number; duplicateChunks: number; duplicateBytes: number; rejectedChunks: number; requests: number };
  /** Errors the node emitted (an honest run has none). */
  readonly errors: string[];
  /** Set when the process is closed, until restart. */
  stopped: boolean;
}

export interface RunOutcome {
  /** True when the condition held before the deadline. */
  reached: boolean;
  /** Virtual time when the run stopped. */
  at: number;
  stop: 'condition' | 'deadline' | 'idle' | 'max-events';
}

const DEFAULT_LATENCY = { min: 20, max: 80 } as const;
const DEFAULT_MAX_EVENTS = 200_000_000;
/** Wall-clock milliseconds between two samples of the process's memory. */
const MEMORY_SAMPLE_WALL_MS = 200;

export class Simulation {
  readonly seed: number;
  readonly clock = new VirtualClock();
  readonly network: MemoryNetwork;
  readonly chain = new MemoryChain();
  readonly trace: Trace;
  readonly replication: Replication;
  readonly networkId: string;
  /** The scenario's own random stream (workload, placement, timing). */
  readonly random: Random;
  private readonly options: SimulationOptions;
  private readonly members = new Map<string, SimNode>();
  /** Size of every chunk the scenario made, by address (for useful-byte accounting). */
  private readonly sizes = new Map<Address, number>();
  /** Scheduled actions that failed (an honest scenario has none). */
  readonly failures: string[] = [];
  /** Set by the first run that saw every honest node hold every position. */
  convergedAt: number | undefined;
  private readonly startedAt = performance.now();
  private peakHeap = 0;
  private peakRss = 0;
  private nextSample = 0;
  private nextMemorySample = 0;
  private readonly sampleEveryMs: number;
  private readonly maxEvents: number;
  private haveSum = 0;
  private totalSum = 0;
  private readonly progress = new Map<string, { have: number; total: number }>();
  private probeClient: ProtocolClient | undefined;
  private closed = false;

  constructor(options: SimulationOptions) {
    if (!Number.isSafeInteger(options.seed)) throw new AtlasError(ErrorCodes.BAD_REQUEST, `seed must be an integer, got ${options.seed}`);
    this.options = options;
    this.seed = options.seed;
    this.networkId = options.network ?? 'simnet';
    this.random = streamFor(options.seed, 'scenario');
    this.trace = new Trace({ keep: options.traceKeep ?? 0 });
    this.sampleEveryMs = options.sampleEveryMs ?? 250;
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.network = new MemoryNetwork({
      clock: this.clock,
      random: streamFor(options.seed, 'network'),
      latencyMs: latencySpec(options.latencyMs ?? DEFAULT_LATENCY),
      dropRate: options.dropRate ?? 0,
      cutLinks: options.cutLinks ?? 'refuse',
    });
    this.replication = new Replication();
  }

  // --- population ------------------------------------------------------------------------------

  /** Opens (and by default starts) a node named `name`, honest or Byzantine. */
  async addNode(name: string, options: AddNodeOptions = {}): Promise<SimNode> {
    if (this.members.has(name)) throw new AtlasError(ErrorCodes.BAD_REQUEST, `node name in use: ${name}`);
    const { seeds = [], behaviour, start = true, ...own } = options;
    const member: SimNode = {
      name,
      role: behaviour ?? 'honest',
      seeds: [...seeds],
      tuning: { ...this.options.tuning, ...own, timers: { ...this.options.tuning?.timers, ...own.timers } },
      store: new MemoryChunkStore(),
      node: undefined,
      table: new Set(seeds.filter((s) => s !== name)),
      received: { fetchedBytes: 0, fetchedChunks: 0, pushedBytes: 0, pushedChunks: 0 },
      pastDownloads: { chunkBytesReceived: 0, duplicateChunks: 0, duplicateBytes: 0, rejectedChunks: 0, requests: 0 },
      errors: [],
      stopped: true,
    };
    this.members.set(name, member);
    if (member.role === 'honest') this.replication.addHolder(name);
    await this.open(member);
    if (start) await this.startNode(name);
    return member;
  }

  /** Starts a node opened with `start: false`. */
  async startNode(name: string): Promise<void> {
    const member = this.member(name);
    if (!member.node) throw new AtlasError(ErrorCodes.NOT_STARTED, `${name} is stopped`);
    await member.node.start();
    this.trace.record(this.clock.now(), name, 'start');
  }

  /** Stops a node's process; its data stays for restartNode. */
  async stopNode(name: string): Promise<void> {
    const member = this.member(name);
    const node = member.node;
    if (!node) return;
    const stats = node.stats().downloads;
    member.pastDownloads.chunkBytesReceived += stats.chunkBytesReceived;
    member.pastDownloads.duplicateChunks += stats.duplicateChunks;
    member.pastDownloads.duplicateBytes += stats.duplicateBytes;
    member.pastDownloads.rejectedChunks += stats.rejectedChunks;
    member.pastDownloads.requests += stats.requests;
    member.node = undefined;
    member.stopped = true;
    this.trace.record(this.clock.now(), name, 'stop');
    await node.close();
  }

  /** Starts a stopped node again on its own data, with a fresh process (new peer table, new epoch). */
  async restartNode(name: string): Promise<void> {
    const member = this.member(name);
    if (member.node) return;
    member.table.clear();
    for (const seed of member.seeds) if (seed !== name) member.table.add(seed);
    await this.open(member);
    await this.startNode(name);
  }

  get(name: string): SimNode | undefined {
    return this.members.get(name);
  }

  /** Every node, in the order added. */
  all(): SimNode[] {
    return [...this.members.values()];
  }

  honest(): SimNode[] {
    return this.all().filter((m) => m.role === 'honest');
  }

  byzantine(): SimNode[] {
    return this.all().filter((m) => m.role !== 'honest');
  }

  // --- the chain and the data ------------------------------------------------------------------

  /** Announces chunks on the shared chain (every node follows it). */
  announce(chunks: readonly { address: Address; data: Uint8Array }[]): void {
    if (chunks.length === 0) return;
    for (const chunk of chunks) this.sizes.set(chunk.address, chunk.data.byteLength);
    const first = this.chain.size;
    this.chain.announce(chunks.map((c) => c.address));
    this.replication.announced(chunks.map((c) => c.address));
    this.trace.record(this.clock.now(), 'chain', 'announce', `${first}+${chunks.length}`);
  }

  /** A chain reorganisation: only the first `length` announcements remain. */
  rollback(length: number): void {
    this.chain.rollback(length);
    const remaining = new Set<Address>();
    for (let p = 0; p < length; p++) remaining.add((this.chain.at(p) as { address: Address }).address);
    this.replication.retain(remaining);
    this.trace.record(this.clock.now(), 'chain', 'rollback', String(length));
  }

  /** A client puts chunks to one node; throws when the node refuses one. */
  async put(name: string, chunks: readonly { address: Address; data: Uint8Array }[]): Promise<boolean[]> {
    const node = this.member(name).node;
    if (!node) throw new AtlasError(ErrorCodes.NOT_STARTED, `${name} is stopped`);
    for (const chunk of chunks) {
      this.sizes.set(chunk.address, chunk.data.byteLength);
      this.replication.put(chunk.address, this.clock.now());
    }
    const outcomes = await node.putChunksDetailed(chunks.map((c) => c.data));
    this.trace.record(this.clock.now(), name, 'put', String(outcomes.filter((o) => o.ok).length));
    const refused = outcomes.find((o) => !o.ok);
    // A refused put is a scenario's mistake (e.g. putting before the node has seen the announcement).
    if (refused && !refused.ok) throw new AtlasError(refused.error.code, `put to ${name} refused: ${refused.error.message}`);
    return outcomes.map((o) => o.ok);
  }

  /** Runs `action` at virtual time `at` (absolute, ms); failures are recorded as node errors of "sim". */
  at(at: number, action: () => void | Promise<void>): void {
    this.clock.setTimeout(() => {
      void Promise.resolve()
        .then(action)
        .catch((error: unknown) => {
          this.failures.push(String(error));
          this.trace.record(this.clock.now(), 'sim', 'action-failed', String(error));
        });
    }, Math.max(0, at - this.clock.now()));
  }

  /** A client with no address of its own, for asking nodes what they answer peers. */
  probe(): ProtocolClient {
    this.probeClient ??= new ProtocolClient(this.network.transport('probe'), { clock: this.clock });
    return this.probeClient;
  }

  // --- running ---------------------------------------------------------------------------------

  /** Runs virtual time until `condition` holds or `forMs` more virtual ms pass. */
  async runUntil(condition: () => boolean, forMs: number): Promise<RunOutcome> {
    if (this.closed) throw new AtlasError(ErrorCodes.CLOSED, 'simulation is closed');
    const deadline = this.clock.now() + forMs;
    const stop = await this.clock.run({
      deadline,
      maxEvents: this.maxEvents,
      until: () => {
        this.observe();
        return condition();
      },
    });
    this.observe();
    return { reached: stop === 'condition', at: this.clock.now(), stop };
  }

  /**
   * Runs virtual time until `promise` settles (at most `forMs`), then returns its outcome: for
   * awaiting a network call from outside a scheduled action, since calls only progress while the
   * clock runs.
   */
  async settle<T>(promise: Promise<T>, forMs = 120_000): Promise<T> {
    let done = false;
    const flag = () => {
      done = true;
    };
    promise.then(flag, flag);
    const outcome = await this.runUntil(() => done, forMs);
    if (!outcome.reached) throw new AtlasError(ErrorCodes.TIMEOUT, `did not settle within ${forMs} virtual ms`);
    return promise;
  }

  /** Runs `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    await this.runUntil(() => false, ms);
  }

  /** Runs until every honest node holds every position of the chain, at most `forMs` virtual ms. */
  runUntilConverged(forMs: number): Promise<RunOutcome> {
    return this.runUntil(() => this.converged(), forMs);
  }

  /**
   * Whether every honest node (running or stopped) holds every position of the chain's current
   * sequence, by the nodes' own inventories: cheap enough to ask after every event. The strict,
   * byte-for-byte check is verifyReplication().
   */
  converged(): boolean {
    const length = this.chain.size;
    const n = this.progress.size;
    const done = n > 0 && length > 0 && this.totalSum === n * length && this.haveSum === this.totalSum;
    if (done && this.convergedAt === undefined) {
      this.convergedAt = this.clock.now();
      this.trace.record(this.convergedAt, 'sim', 'converged', String(length));
    }
    return done;
  }

  /** Share of (honest node, position) pairs held now, by the nodes' inventories. */
  fractionHeld(): number {
    const wanted = this.progress.size * this.chain.size;
    return wanted === 0 ? 0 : Math.min(this.haveSum, wanted) / wanted;
  }

  /** Forgets the first convergence time (e.g. after adding data to a converged network). */
  resetConvergence(): void {
    this.convergedAt = undefined;
  }

  /**
   * Chunk payload the honest nodes received to replicate (downloads, by the nodes' own counters,
   * and pushes, counted on the wire), the part of it that was useful, and the chunk bytes fetched
   * for other reasons (audits of neighbours' claims, replies refused as malformed).
   */
  chunkTraffic(): { received: number; useful: number; other: number; duplicates: number; rejected: number } {
    let received = 0;
    let other = 0;
    let duplicates = 0;
    let rejected = 0;
    for (const member of this.honest()) {
      const live = member.node?.stats().downloads;
      const downloaded = member.pastDownloads.chunkBytesReceived + (live?.chunkBytesReceived ?? 0);
      received += downloaded + member.received.pushedBytes;
      other += Math.max(0, member.received.fetchedBytes - downloaded);
      duplicates += member.pastDownloads.duplicateChunks + (live?.duplicateChunks ?? 0);
      rejected += member.pastDownloads.rejectedChunks + (live?.rejectedChunks ?? 0);
    }
    return { received, useful: this.replication.usefulBytes, other, duplicates, rejected };
  }

  /** Peak process memory sampled during runs (not part of the trace: it is not deterministic). */
  memoryPeak(): { heapBytes: number; rssBytes: number } {
    return { heapBytes: this.peakHeap, rssBytes: this.peakRss };
  }

  /** Wall-clock milliseconds since the simulation was created. */
  wallMs(): number {
    return performance.now() - this.startedAt;
  }

  sizeOf(address: Address): number | undefined {
    return this.sizes.get(address);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const member of this.members.values()) {
      const node = member.node;
      member.node = undefined;
      await node?.close();
    }
    await this.network.close();
    await this.chain.close();
  }

  // --- internals -------------------------------------------------------------------------------

  private member(name: string): SimNode {
    const member = this.members.get(name);
    if (!member) throw new AtlasError(ErrorCodes.BAD_REQUEST, `no node named ${name}`);
    return member;
  }

  private async open(member: SimNode): Promise<void> {
    const { name } = member;
    const base: Transport = this.network.transport(name);
    const byzantine = member.role === 'honest' ? base : new ByzantineTransport(base, member.role, {
      random: streamFor(this.seed, `byzantine:${name}`),
      clock: this.clock,
      bogusPrefix: `bogus-${name}-`,
    });
    const observed = new ObservedTransport(byzantine, member.received);
    const tuning = member.tuning;
    const node = await AtlasNode.open({
      chain: this.chain,
      transport: observed,
      store: member.store, // outlives the node (not closed with it), as an LMDB folder outlives a process
      seeds: member.seeds,
      network: this.networkId,
      clock: this.clock,
      random: streamFor(this.seed, `node:${name}:${this.restarts(name)}`),
      addressPolicy: LOCAL_ADDRESS_POLICY,
      ...(tuning.neighbors !== undefined ? { neighbors: tuning.neighbors } : {}),
      ...(tuning.timers !== undefined ? { timers: tuning.timers } : {}),
      ...(tuning.walk !== undefined ? { walk: tuning.walk } : {}),
      ...(tuning.downloads !== undefined ? { downloads: tuning.downloads } : {}),
      ...(tuning.push !== undefined ? { push: tuning.push } : {}),
      ...(tuning.audit !== undefined ? { audit: tuning.audit } : {}),
      ...(tuning.maxPeers !== undefined ? { maxPeers: tuning.maxPeers } : {}),
      ...(tuning.maxPendingPeers !== undefined ? { maxPendingPeers: tuning.maxPendingPeers } : {}),
    });
    member.node = node;
    member.stopped = false;
    this.wire(member, node);
  }

  private readonly restartCounts = new Map<string, number>();

  /** How many times `name` has been opened before: each run of a process gets its own random stream. */
  private restarts(name: string): number {
    const count = this.restartCounts.get(name) ?? 0;
    this.restartCounts.set(name, count + 1);
    return count;
  }

  private wire(member: SimNode, node: AtlasNode): void {
    const { name } = member;
    const honest = member.role === 'honest';
    node.on('chunk', ({ address, from }) => {
      const now = this.clock.now();
      this.trace.record(now, name, 'chunk', `${address}<${from}`);
      if (honest) this.replication.stored(name, address, from !== 'local', this.sizes.get(address) ?? member.store.get(address)?.byteLength ?? 0, now);
    });
    node.on('peer:add', ({ peer }) => {
      member.table.add(peer);
      this.trace.record(this.clock.now(), name, 'peer:add', peer);
    });
    node.on('peer:remove', ({ peer, reason }) => {
      member.table.delete(peer);
      this.trace.record(this.clock.now(), name, 'peer:remove', `${peer}:${reason}`);
    });
    node.on('error', (error) => {
      member.errors.push(error.message);
      this.trace.record(this.clock.now(), name, 'error', error.message);
    });
    if (honest) {
      const stats = node.stats();
      this.setProgress(name, stats.have, stats.total);
      node.on('progress', ({ have, total }) => this.setProgress(name, have, total));
    }
  }

  private setProgress(name: string, have: number, total: number): void {
    const previous = this.progress.get(name);
    if (previous) {
      this.haveSum -= previous.have;
      this.totalSum -= previous.total;
    }
    this.progress.set(name, { have, total });
    this.haveSum += have;
    this.totalSum += total;
  }

  private observe(): void {
    const now = this.clock.now();
    if (now < this.nextSample) return;
    this.nextSample = now + this.sampleEveryMs;
    this.replication.sample(now);
    // Memory is sampled by wall time: it is not part of the trace, and process.memoryUsage()
    // costs a few hundred microseconds, a few per cent of an idle run when taken every sample.
    const wall = performance.now();
    if (wall < this.nextMemorySample) return;
    this.nextMemorySample = wall + MEMORY_SAMPLE_WALL_MS;
    const memory = process.memoryUsage();
    if (memory.heapUsed > this.peakHeap) this.peakHeap = memory.heapUsed;
    if (memory.rss > this.peakRss) this.peakRss = memory.rss;
  }
}

function latencySpec(latency: number | { min: number; max: number }): LatencySpec {
  if (typeof latency === 'number') return latency;
  const { min, max } = latency;
  if (!(min >= 0 && max >= min)) throw new AtlasError(ErrorCodes.BAD_REQUEST, `latency range must satisfy 0 <= min <= max, got ${min}..${max}`);
  return (_from, _to, random) => min + random() * (max - min);
}

