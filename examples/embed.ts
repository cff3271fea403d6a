/**
 * Embedding atlasnet: two nodes in one program, with a chain adapter and a transport of our own.
 *
 *   npx tsx examples/embed.ts
 *
 * - ListChain is a ChainAdapter over a list the host fills: a real host would append what its
 *   chain node reports (name registrations carrying a zone-file hash) and call rollback on reorgs.
 * - CountingTransport wraps HttpTransport and counts the calls a node makes, by method: the same
 *   shape works for adding auth headers, tracing, or fault injection.
 */
import { AtlasNode, HttpTransport, hash160Hex, hashReady } from 'atlasnet';
import type { Announcement, CallOptions, ChainAdapter, ChainListener, Transport, TransportService } from 'atlasnet';

class ListChain implements ChainAdapter {
  private readonly announcements: Announcement[] = [];
  private readonly listeners = new Set<ChainListener>();

  /** Appends one announcement and tells the nodes following this chain. */
  announce(address: string, key: string): void {
    const announcement: Announcement = { position: this.announcements.length, address, key };
    this.announcements.push(announcement);
    for (const listener of this.listeners) listener({ type: 'append', announcements: [announcement] });
  }

  /** A reorganisation: only the first `length` announcements remain. */
  rollback(length: number): void {
    this.announcements.length = Math.min(length, this.announcements.length);
    for (const listener of this.listeners) listener({ type: 'rollback', length: this.announcements.length });
  }

  async length(): Promise<number> {
    return this.announcements.length;
  }

  async read(from: number, limit: number): Promise<Announcement[]> {
    return this.announcements.slice(from, from + limit);
  }

  subscribe(listener: ChainListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

class CountingTransport implements Transport {
  readonly calls = new Map<string, number>();

  constructor(private readonly inner: Transport) {}

  get address(): string | undefined {
    return this.inner.address;
  }

  /** It passes every call's options on unchanged, so it honours timeoutMs when the inner transport does. */
  get honoursTimeout(): boolean {
    return this.inner.honoursTimeout === true;
  }

  /** It hands on the inner transport's replies as they are, so they are the caller's when the inner's are. */
  get handsOverReplies(): boolean {
    return this.inner.handsOverReplies === true;
  }

  /** Its service's answers go to the inner transport as they are, so they are read once when the inner's are. */
  get readsRepliesOnce(): boolean {
    return this.inner.readsRepliesOnce === true;
  }

  listen(service: TransportService): Promise<string> {
    return this.inner.listen(service);
  }

  call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    return this.inner.call(peer, method, params, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const chain = new ListChain();
const zoneFile = Buffer.from('$ORIGIN example.id\n$TTL 3600\n_http._tcp URI 10 1 "https://example.com/profile.json"\n');
await hashReady(); // hashing may run on WebAssembly, which loads first
const address = hash160Hex(zoneFile);
chain.announce(address, 'example.id');

// Loopback peers are refused by default (a peer list could point anywhere); allow them here.
const local = { allowLoopback: true };
const transportA = new CountingTransport(new HttpTransport({ listen: '127.0.0.1:0' }));
const transportB = new CountingTransport(new HttpTransport({ listen: '127.0.0.1:0' }));
const a = await AtlasNode.open({ chain, transport: transportA, network: 'example', addressPolicy: local });
await a.start();
const b = await AtlasNode.open({ chain, transport: transportB, network: 'example', addressPolicy: local, seeds: [a.address as string] });

a.on('peer:add', ({ peer }) => console.log(`a: peer added ${peer}`));
b.on('peer:add', ({ peer }) => console.log(`b: peer added ${peer}`));
b.on('progress', ({ have, total }) => console.log(`b: progress ${have}/${total}`));
const arrived = new Promise<string>((resolve) => b.on('chunk', ({ address: got, from }) => resolve(`b: stored ${got} from ${from}`)));
await b.start();

const [saved] = await a.putChunks([zoneFile]);
console.log(`a: put ${address} -> ${saved ? 'saved' : 'refused'}`);

const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the chunk did not reach b within 20 s')), 20_000).unref());
console.log(await Promise.race([arrived, timeout]));
const held = (await b.getChunks([address])).get(address);
console.log(`b: holds ${held?.byteLength} bytes, identical: ${held !== undefined && Buffer.compare(held, zoneFile) === 0}`);
console.log(`a's calls by method: ${JSON.stringify(Object.fromEntries(transportA.calls))}`);
console.log(`b's calls by method: ${JSON.stringify(Object.fromEntries(transportB.calls))}`);

await Promise.all([a.close(), b.close()]);
console.log('closed');
