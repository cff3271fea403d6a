/**
 * Per-remote token buckets: each caller key (a remote host, see `remoteHost`) earns
 * `ratePerSecond` tokens up to `burst`, and every request spends one (or its method's cost). A
 * request finding too few tokens is refused at once: the caller sees BUSY and retries later,
 * while every other caller keeps its own bucket.
 *
 * The map of buckets is bounded by `maxKeys`. When it is full, a new key takes the place of a
 * key whose bucket is full (forgetting it loses nothing) among the least recently used ones, else
 * of the least recently used key not in debt (a caller forgotten with a partly spent bucket comes
 * back with at most one fresh burst); see `makeRoom` for why that search costs little. A debt is never forgotten: when every remembered key is in debt (or in
 * use, see `RateLimiterHooks`), the new key is refused, so an attacker owning many addresses (a
 * /48 holds 65,536 /64 keys) cannot cycle its indebted keys out to earn new bursts; the global
 * concurrency bound (protocol/request-guard.ts) still caps what all of them together get. IPv6
 * callers are keyed by their /64 prefix, since one host typically owns a whole /64.
 */
import { isIPv6 } from 'node:net';
import { formatCaller, formatPeerAddress, parsePeerAddress, peerAddressOf, type Caller } from '../peer-address.js';
import { definedOnly, type Clock } from '../runtime.js';

/** Token bucket and concurrency bounds per remote host. */
export interface RateLimitOptions {
  /** Tokens earned per second by each key; Infinity turns limiting off. */
  ratePerSecond: number;
  /** Most tokens a key can save up: the largest burst it can send at once. */
  burst: number;
  /** Most keys remembered; full buckets are forgotten first, buckets in debt never. */
  maxKeys: number;
}

/** What a RateLimiter's owner knows about its keys. */
export interface RateLimiterHooks {
  /** A key in use (e.g. with a reply being sent, to be charged later) is never forgotten. */
  inUse?: (key: string) => boolean;
}

/**
 * Generous enough for replication between honest peers: a fresh peer syncing a million chunks
 * makes about 10,000 getChunks calls, spread over its ~8 neighbours, i.e. ~1,250 per neighbour,
 * which fits in one burst; sustained 500/s is far above what an honest downloader with 2 calls in
 * flight per peer asks of one neighbour over a WAN.
 */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitOptions> = Object.freeze({
  ratePerSecond: 500,
  burst: 5_000,
  maxKeys: 4_096,
});

/** Keys not in debt looked at, at most, for a full bucket before a partly spent one is forgotten. */
const FULL_BUCKET_LOOKAHEAD = 16;
/** Keys one search looks at, at most. */
const MAX_SEARCH = 256;
/** When every remembered key is in debt or in use, how soon keys in use are looked at again. */
const IN_USE_RECHECK_MS = 100;

interface Bucket {
  tokens: number;
  /** Clock time of the last refill. */
  at: number;
}

/** Per-host token buckets: a host over its rate is answered BUSY instead of queued. */
export class RateLimiter {
  readonly options: Readonly<RateLimitOptions>;
  private readonly clock: Clock;
  /** Insertion order is recency order: a touched key is moved to the end. */
  private readonly buckets = new Map<string, Bucket>();

  private readonly inUse: (key: string) => boolean;
  /** Once fruitless searches have seen every key: new keys are refused without searching until then. */
  private noRoomUntil = -Infinity;
  /** The searches since the last one that made room: keys looked at, the earliest debt repaid, any key in use. */
  private fruitless = { visited: 0, earliestRepaid: Infinity, inUse: false };

  constructor(clock: Clock, options: Partial<RateLimitOptions> = {}, hooks: RateLimiterHooks = {}) {
    this.options = Object.freeze(checkOptions({ ...DEFAULT_RATE_LIMIT, ...definedOnly(options) }));
    this.clock = clock;
    this.inUse = hooks.inUse ?? (() => false);
  }

  /** Keys currently remembered (at most maxKeys). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Spends `cost` tokens of `key`'s bucket; false (and nothing spent) when it holds fewer, or when
   * `key` is new and there is no room for it (every remembered key in debt or in use). A cost
   * above the burst is taken as the whole burst, once the bucket is full: charged in full, it could
   * never be taken.
   */
  take(key: string, cost = 1): boolean {
    if (this.options.ratePerSecond === Infinity) return true;
    const bucket = this.touch(key);
    const spent = Math.min(cost, this.options.burst);
    if (bucket === undefined || bucket.tokens < spent) return false;
    bucket.tokens -= spent;
    return true;
  }

  /**
   * Remembers `key` (making room as `take` does) without spending anything: false when it is new
   * and there is no room. Call it before serving a caller whose cost will be `charge`d later.
   */
  hold(key: string): boolean {
    return this.options.ratePerSecond === Infinity || this.touch(key) !== undefined;
  }

  /**
   * Spends `cost` tokens of `key`'s bucket even when it holds fewer: the bucket goes into debt and
   * `tokens(key)` stays below zero until the debt is earned back. For costs known only afterwards
   * (bytes of a reply already sent). False when `key` is new and there is no room for it: `hold`
   * the key (and keep it in use) first so that the charge always lands.
   */
  charge(key: string, cost: number): boolean {
    if (this.options.ratePerSecond === Infinity || !(cost > 0)) return true;
    const bucket = this.touch(key);
    if (bucket === undefined) return false;
    bucket.tokens -= cost;
    return true;
  }

  /** Tokens `key` holds now (a full bucket for an unknown key; below zero for a key in debt). */
  tokens(key: string): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return this.options.burst;
    return this.refilled(bucket, this.clock.now());
  }

  /** Milliseconds until `key` can take `cost` tokens (at most a full bucket, as take() spends them); 0 when it already can. */
  retryAfterMs(key: string, cost = 1): number {
    const missing = Math.min(cost, this.options.burst) - this.tokens(key);
    if (missing <= 0) return 0;
    return Math.ceil((missing / this.options.ratePerSecond) * 1000);
  }

  clear(): void {
    this.buckets.clear();
    this.noRoomUntil = -Infinity;
    this.fruitless = { visited: 0, earliestRepaid: Infinity, inUse: false };
  }

  /** `key`'s bucket, refilled and made the most recent; undefined when it is new and there is no room. */
  private touch(key: string): Bucket | undefined {
    const now = this.clock.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.options.maxKeys && !this.makeRoom(now)) return undefined;
      bucket = { tokens: this.options.burst, at: now };
    } else {
      bucket.tokens = this.refilled(bucket, now);
      bucket.at = now;
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    return bucket;
  }

  /**
   * Forgets one key: of the least recently used keys neither in debt nor in use, the first with a
   * full bucket among the next FULL_BUCKET_LOOKAHEAD, else the first of them; never one in debt or
   * in use. Bounded work whatever the callers do: one search looks at MAX_SEARCH keys at most, and
   * moves the ones in debt or in use it passes to the recent end (neither can be forgotten now), so
   * the next search starts past them; a search that ends without room refuses its key. Once
   * fruitless searches have together looked at every key, new keys are refused without searching
   * until the earliest debt seen is earned back (or IN_USE_RECHECK_MS, for keys in use).
   */
  private makeRoom(now: number): boolean {
    if (now < this.noRoomUntil) return false;
    let first: string | undefined;
    let seen = 0;
    let visited = 0;
    const passed: string[] = [];
    let victim: string | undefined;
    for (const [key, bucket] of this.buckets) {
      if (++visited > MAX_SEARCH) break;
      const tokens = this.refilled(bucket, now);
      if (tokens < 0) {
        passed.push(key);
        this.fruitless.earliestRepaid = Math.min(this.fruitless.earliestRepaid, now + (-tokens / this.options.ratePerSecond) * 1000);
        continue;
      }
      if (this.inUse(key)) {
        passed.push(key);
        this.fruitless.inUse = true;
        continue;
      }
      first ??= key;
      if (tokens >= this.options.burst) {
        victim = key;
        break;
      }
      if (++seen >= FULL_BUCKET_LOOKAHEAD) break;
    }
    for (const key of passed) {
      const bucket = this.buckets.get(key) as Bucket;
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
    }
    victim ??= first;
    if (victim !== undefined) {
      this.buckets.delete(victim);
      this.fruitless = { visited: 0, earliestRepaid: Infinity, inUse: false };
      return true;
    }
    this.fruitless.visited += Math.min(visited, MAX_SEARCH);
    if (this.fruitless.visited >= this.buckets.size) {
      this.noRoomUntil = Math.min(this.fruitless.earliestRepaid, this.fruitless.inUse ? now + IN_USE_RECHECK_MS : Infinity);
      this.fruitless = { visited: 0, earliestRepaid: Infinity, inUse: false };
    }
    return false;
  }

  private refilled(bucket: Bucket, now: number): number {
    const elapsed = Math.max(0, now - bucket.at);
    return Math.min(this.options.burst, bucket.tokens + (elapsed * this.options.ratePerSecond) / 1000);
  }
}

/**
 * The key a caller is limited under, from a transport's remote identity: the IP of
 * "ip:port" / "[ipv6]:port" (an IPv4-mapped IPv6 address as its IPv4, any other IPv6 address as
 * its /64 prefix), or the identity itself when it is not an IP (a MemoryNetwork node name).
 */
export function remoteHost(remote: string): string {
  // A socket reports IPv6 without brackets; everything else is read as a peer address.
  const peer = isIPv6(remote) ? peerAddressOf(remote, undefined) : parsePeerAddress(remote);
  return peer === undefined || peer.family === 'name' ? remote : hostKey(peer);
}

/** The key a caller is limited under (see `remoteHost`); every unknown caller shares one. */
export function hostKey(peer: Caller): string {
  if (peer.family === 'unknown') return formatCaller(peer);
  if (peer.family === 4) return peer.host;
  if (peer.family === 6) return ipv6Key(peer.host);
  return formatPeerAddress(peer);
}

function ipv6Key(address: string): string {
  const groups = expandIPv6(address.toLowerCase().replace(/%.*$/, ''));
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const high = parseInt(groups[6] as string, 16);
    const low = parseInt(groups[7] as string, 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address;
  // A trailing dotted IPv4 part stands for the last two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -(v4[1] as string).length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group || '0', 16).toString(16));
}

function checkOptions(options: RateLimitOptions): RateLimitOptions {
  if (!(options.ratePerSecond > 0)) throw new RangeError('rate limit: ratePerSecond must be > 0 (Infinity turns limiting off)');
  if (!(options.burst >= 1)) throw new RangeError('rate limit: burst must be at least 1');
  if (!Number.isSafeInteger(options.maxKeys) || options.maxKeys < 1) throw new RangeError('rate limit: maxKeys must be a positive integer');
  return options;
}

