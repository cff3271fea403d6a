/**
 * The HTTP client's socket slots per host (HttpLimits.maxSocketsPerHost). Node's agent caps the
 * sockets of one "host:port" (maxSocketsPerPeer) and of all peers together (maxTotalSockets), and
 * nothing in between: a few hosts that accept connections and then stall, each behind many
 * ports, held all 256 sockets of the pool, and every call to an honest peer waited in the agent's
 * queue until its deadline (test/transport/outbound-sockets.test.ts). A call takes a slot of its
 * target's host before it asks the agent for a socket, and gives it back once it has settled
 * (answered, failed, timed out, aborted or closed): the socket is then back in the agent's pool or
 * destroyed. A call finding its host's slots taken waits for one, its deadline running; one host
 * can hold at most maxSocketsPerHost of the pool.
 */
import { isIP } from 'node:net';
import { isLoopbackIp, peerAddressOf } from '../peer-address.js';
import { hostKey } from './rate-limit.js';

/** A call waiting for a slot of its host. */
interface Waiter {
  grant: () => void;
}

/** Slots per host for the client's calls: at most `perHost` taken at once for one host, further calls wait in order. */
export class HostSlots {
  private readonly taken = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter[]>();

  /**
   * @param perHost slots of one host (an IPv4 address, an IPv6 /64, a name);
   * @param onLoopback whether loopback targets (this machine) are capped too.
   */
  constructor(
    private readonly perHost: number,
    private readonly onLoopback: boolean,
  ) {}

  /** The key `host` is counted under, or undefined when it is not capped (loopback, unless onLoopback). */
  keyOf(host: string): string | undefined {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const lower = bare.toLowerCase();
    if (!this.onLoopback && (lower === 'localhost' || (isIP(lower) !== 0 && isLoopbackIp(lower)))) return undefined;
    return isIP(lower) !== 0 ? hostKey(peerAddressOf(lower, undefined)) : lower;
  }

  /**
   * Takes a slot of `host`, waiting for one when all are taken; rejects with `signal.reason` when
   * the signal aborts first (the waiting call then takes nothing). Resolves to the slot's release,
   * which gives it back once however often it is called.
   */
  take(host: string, signal: AbortSignal): Promise<() => void> {
    const key = this.keyOf(host);
    if (key === undefined) return Promise.resolve(() => {});
    if (signal.aborted) return Promise.reject(signal.reason);
    const taken = this.taken.get(key) ?? 0;
    if (taken < this.perHost) {
      this.taken.set(key, taken + 1);
      return Promise.resolve(this.releaser(key));
    }
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(key) ?? [];
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.releaser(key));
        },
      };
      const onAbort = () => {
        const at = queue.indexOf(waiter);
        if (at >= 0) queue.splice(at, 1);
        if (queue.length === 0 && this.waiting.get(key) === queue) this.waiting.delete(key);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
      this.waiting.set(key, queue);
    });
  }

  /** Slots taken now, all hosts together (for tests and monitoring). */
  get total(): number {
    let total = 0;
    for (const count of this.taken.values()) total += count;
    return total;
  }

  private releaser(key: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const queue = this.waiting.get(key);
      const next = queue?.shift();
      if (queue !== undefined && queue.length === 0) this.waiting.delete(key);
      // The slot passes to the next waiter as it is: the count stays.
      if (next !== undefined) {
        next.grant();
        return;
      }
      const left = (this.taken.get(key) ?? 1) - 1;
      if (left > 0) this.taken.set(key, left);
      else this.taken.delete(key);
    };
  }
}
