/**
 * The HTTP client's socket slots per host (HttpLimits.maxSocketsPerHost) and per peer
 * (maxSocketsPerPeer). Node's agent caps the sockets of one "host:port" (maxSocketsPerPeer) and of
 * all peers together (maxTotalSockets), and nothing in between: a few hosts that accept
 * connections and then stall, each behind many ports, held all 256 sockets of the pool, and every
 * call to an honest peer waited in the agent's queue until its deadline
 * (test/transport/outbound-sockets.test.ts). A call takes a slot of its target before it asks the
 * agent for a socket, and gives it back once it has settled (answered, failed, timed out, aborted
 * or closed): the socket is then back in the agent's pool or destroyed.
 *
 * Both caps are kept here, so the agent's own per-peer queue stays (nearly) empty: a call is
 * granted only while its peer holds fewer than `perPeer` slots AND its host fewer than `perHost`.
 * Were only the host counted, 8 calls to one stalling port would take all 8 slots of its host
 * while the agent opened 4 sockets and queued the other 4, and every call to another port of that
 * host would wait for a slot until its deadline. A call waiting on its own peer's cap holds
 * nothing of its host's. Waiters are granted first come, first served among those that can be
 * granted; a waiter leaves when its signal (the call's deadline, its caller's signal, close)
 * aborts, so none waits past its deadline and the maps hold only hosts with slots or waiters.
 */
import { isIP } from 'node:net';
import { isLoopbackIp, peerAddressOf } from '../peer-address.js';
import { hostKey } from './rate-limit.js';

/** A call waiting for a slot: its arrival order (lower first) and how it is given one. */
interface Waiter {
  readonly ticket: number;
  grant: () => void;
}

/** One peer ("host:port") of a host: its slots taken and its calls waiting, in order. */
interface PeerState {
  taken: number;
  readonly queue: Waiter[];
}

/** One host: its slots taken (all its peers together) and its peers with slots or waiters. */
interface HostState {
  taken: number;
  readonly peers: Map<string, PeerState>;
}

/** The caps HostSlots keeps. */
export interface HostSlotLimits {
  /** Slots of one host, all its ports together (an IPv4 address, an IPv6 /64, a name). */
  perHost: number;
  /** Slots of one peer ("host:port"): the agent's own cap (maxSockets), so no call waits in its queue. */
  perPeer: number;
  /** Whether loopback targets (this machine) are capped too. */
  onLoopback: boolean;
}

/**
 * Slots per host and per peer for the client's calls: at most `perHost` taken at once for one
 * host and `perPeer` for one of its ports; further calls wait, granted in order of arrival among
 * those whose peer and host both have a slot free.
 */
export class HostSlots {
  private readonly hosts = new Map<string, HostState>();
  private nextTicket = 0;

  /** @param limits the caps (positive integers) and whether loopback targets are capped. */
  constructor(private readonly limits: HostSlotLimits) {}

  /** The key `host` is counted under, or undefined when it is not capped (loopback, unless onLoopback). */
  keyOf(host: string): string | undefined {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const lower = bare.toLowerCase();
    if (!this.limits.onLoopback && (lower === 'localhost' || (isIP(lower) !== 0 && isLoopbackIp(lower)))) return undefined;
    return isIP(lower) !== 0 ? hostKey(peerAddressOf(lower, undefined)) : lower;
  }

  /**
   * Takes a slot of the peer `host`:`port`, waiting for one while its peer or its host has none
   * free; rejects with `signal.reason` when the signal aborts first (the waiting call then takes
   * nothing). Resolves to the slot's release, which gives it back once however often it is called.
   */
  take(host: string, port: number, signal: AbortSignal): Promise<() => void> {
    const key = this.keyOf(host);
    if (key === undefined) return Promise.resolve(() => {});
    if (signal.aborted) return Promise.reject(signal.reason);
    // The agent names a peer by the host as written; one spelled two ways is counted once here (never more than the agent allows).
    const peerKey = `${port}/${host.toLowerCase()}`;
    let state = this.hosts.get(key);
    if (state === undefined) {
      state = { taken: 0, peers: new Map() };
      this.hosts.set(key, state);
    }
    let peer = state.peers.get(peerKey);
    if (peer === undefined) {
      peer = { taken: 0, queue: [] };
      state.peers.set(peerKey, peer);
    }
    // No waiter could have this slot: every release grants at once whatever it can (pump), so a
    // waiter is one whose own port or host is full, and so is this call's when it must wait.
    if (this.canGrant(state, peer)) {
      return Promise.resolve(this.occupy(key, state, peerKey, peer));
    }
    const hostState = state;
    const peerState = peer;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        ticket: this.nextTicket++,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.occupy(key, hostState, peerKey, peerState));
        },
      };
      const onAbort = () => {
        const at = peerState.queue.indexOf(waiter);
        if (at >= 0) peerState.queue.splice(at, 1);
        this.forgetIfIdle(key, hostState, peerKey, peerState);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      peerState.queue.push(waiter);
    });
  }

  /** Slots taken now, all hosts together (for tests and monitoring). */
  get total(): number {
    let total = 0;
    for (const state of this.hosts.values()) total += state.taken;
    return total;
  }

  /** Calls waiting for a slot now, all hosts together (for tests and monitoring). */
  get waiting(): number {
    let waiting = 0;
    for (const state of this.hosts.values()) for (const peer of state.peers.values()) waiting += peer.queue.length;
    return waiting;
  }

  /** Hosts with slots taken or calls waiting: none is kept once it has neither (for tests). */
  get hostsTracked(): number {
    return this.hosts.size;
  }

  private canGrant(state: HostState, peer: PeerState): boolean {
    return state.taken < this.limits.perHost && peer.taken < this.limits.perPeer;
  }

  /** Counts a slot taken and answers its release. */
  private occupy(key: string, state: HostState, peerKey: string, peer: PeerState): () => void {
    state.taken++;
    peer.taken++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.taken--;
      peer.taken--;
      this.pump(state);
      this.forgetIfIdle(key, state, peerKey, peer);
    };
  }

  /** Grants waiters, earliest first among those whose peer and host both have a slot free. */
  private pump(state: HostState): void {
    while (state.taken < this.limits.perHost) {
      let next: PeerState | undefined;
      for (const peer of state.peers.values()) {
        const head = peer.queue[0];
        if (head === undefined || peer.taken >= this.limits.perPeer) continue;
        if (next === undefined || head.ticket < next.queue[0]!.ticket) next = peer;
      }
      if (next === undefined) return;
      // grant() counts the slot (occupy) before anything else runs: the loop sees it taken.
      next.queue.shift()!.grant();
    }
  }

  private forgetIfIdle(key: string, state: HostState, peerKey: string, peer: PeerState): void {
    if (peer.taken === 0 && peer.queue.length === 0 && state.peers.get(peerKey) === peer) state.peers.delete(peerKey);
    if (state.taken === 0 && state.peers.size === 0 && this.hosts.get(key) === state) this.hosts.delete(key);
  }
}
