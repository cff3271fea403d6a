/**
 * Start-up convergence on real sockets: five nodes over HttpTransport on 127.0.0.1, started back
 * to back with the default timers (inventory refresh every 15 s), each seeded with the first.
 * Chunks are put during the first seconds: one to each node right after it starts (before it has
 * any neighbour), then one every `gapMs` to the nodes in turn, the first node first. The figure
 * for a chunk is the longest any node waited for it, counted from the put or from the node's
 * start, whichever came later (target: p99 <= 1 s); it only holds when nodes that meet tell each
 * other what they gained recently instead of waiting for a refresh.
 */
import { MemoryChain } from '../src/chain/memory.js';
import { AtlasNode } from '../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../src/peers/address-policy.js';
import { seededRandom } from '../src/runtime.js';
import { generateChunks } from '../src/sim/workload.js';
import { HttpTransport } from '../src/transport/http.js';

export interface StartupRun {
  /**
   * Per chunk: the longest any node waited for it, in ms from the put or from that node's start,
   * whichever was later (Infinity: some node never held it within the deadline).
   */
  timesMs: number[];
}

/** One run: `nodes` nodes, one chunk put at each right after its start; bounded by `deadlineMs`. */
export async function startupRun(options: { nodes?: number; seed?: number; deadlineMs?: number; gapMs?: number; laterPuts?: number } = {}): Promise<StartupRun> {
  const count = options.nodes ?? 5;
  const deadlineMs = options.deadlineMs ?? 20_000;
  const gapMs = options.gapMs ?? 150;
  const laterPuts = options.laterPuts ?? 2 * count;
  const chunks = generateChunks(count + laterPuts, seededRandom(options.seed ?? 1));
  const chain = new MemoryChain();
  chain.announce(chunks.map((c) => c.address));
  const nodes: AtlasNode[] = [];
  const startedAt: number[] = [];
  const putAt = new Map<string, number>();
  /** Per chunk, the arrival time at each node (by index). */
  const arrivals = new Map<string, Map<number, number>>();
  const put = async (node: AtlasNode, chunk: { address: string; data: Uint8Array }) => {
    putAt.set(chunk.address, performance.now());
    const [ok] = await node.putChunks([chunk.data]);
    if (!ok) throw new Error(`put of chunk ${chunk.address} refused`);
    arrived(nodes.indexOf(node), chunk.address);
  };
  const arrived = (index: number, address: string) => {
    let at = arrivals.get(address);
    if (!at) arrivals.set(address, (at = new Map()));
    if (!at.has(index)) at.set(index, performance.now());
  };
  const complete = () => chunks.every((c) => arrivals.get(c.address)?.size === count);
  const waited = (address: string) => {
    const at = arrivals.get(address);
    let longest = 0;
    for (let k = 0; k < count; k++) {
      const arrival = at?.get(k);
      if (arrival === undefined) return Infinity;
      longest = Math.max(longest, arrival - Math.max(putAt.get(address) as number, startedAt[k] as number));
    }
    return longest;
  };
  try {
    for (let i = 0; i < count; i++) {
      const node = await AtlasNode.open({
        chain,
        transport: new HttpTransport({ listen: '127.0.0.1:0' }),
        seeds: i === 0 ? [] : [nodes[0]!.address as string],
        network: 'startup',
        addressPolicy: LOCAL_ADDRESS_POLICY,
      });
      node.on('chunk', ({ address }) => arrived(i, address));
      nodes.push(node);
      await node.start();
      startedAt.push(performance.now());
      await put(node, chunks[i]!);
    }
    for (let k = 0; k < laterPuts; k++) {
      await put(nodes[k % count]!, chunks[count + k]!);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    const deadline = performance.now() + deadlineMs;
    while (!complete() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    return { timesMs: chunks.map((c) => waited(c.address)) };
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
}
