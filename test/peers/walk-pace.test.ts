/**
 * The overlay's walk slows down once settled (WalkPace) and speeds up again at any change. First
 * the pace alone, then a real Overlay over a small in-memory peer graph, counting its
 * peer-exchange calls round by round.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { Blocklist } from '../../src/peers/blocklist.js';
import { DEFAULT_BURN_IN } from '../../src/peers/walk-types.js';
import { Overlay } from '../../src/peers/overlay.js';
import { DEFAULT_WALK_PACE, WalkPace } from '../../src/peers/walk-pace.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { silentLogger, seededRandom, type Clock } from '../../src/runtime.js';
import type { Transport } from '../../src/transport/types.js';
import { steppedClock } from '../support/clock.js';

const ROUND_MS = 2_000;
const RENEW_MS = 120_000;
const settledState = (now: number) => ({ now, wantsNeighbors: false, burningIn: false });

describe('WalkPace', () => {
  it('defaults: two steps a round unsettled, the burn-in (20 steps) per renewal settled, 20 s without change to settle', () => {
    expect(DEFAULT_WALK_PACE).toEqual({ stepsPerRound: 2, settledStepsPerRenewal: DEFAULT_BURN_IN, settleMs: 20_000 });
  });

  it('walks at the fast rate while neighbours are wanted, during a burn-in, and for settleMs after a change', () => {
    const pace = new WalkPace(RENEW_MS, 0);
    const late = DEFAULT_WALK_PACE.settleMs + 1;
    expect(pace.stepsDue({ now: late, wantsNeighbors: true, burningIn: false })).toBe(2);
    expect(pace.stepsDue({ now: late, wantsNeighbors: false, burningIn: true })).toBe(2);
    expect(pace.stepsDue(settledState(DEFAULT_WALK_PACE.settleMs - 1))).toBe(2); // just started
    expect(pace.settled(settledState(late))).toBe(true);
    pace.changed(late);
    expect(pace.settled(settledState(late + DEFAULT_WALK_PACE.settleMs - 1))).toBe(false);
    expect(pace.stepsDue(settledState(late + DEFAULT_WALK_PACE.settleMs - 1))).toBe(2);
    expect(pace.settled(settledState(late + DEFAULT_WALK_PACE.settleMs))).toBe(true);
  });

  it('settled: takes settledStepsPerRenewal steps per renewal period, spread over its rounds, at most stepsPerRound a round', () => {
    const pace = new WalkPace(RENEW_MS, 0, { settleMs: 0 });
    for (let period = 0; period < 3; period++) {
      const start = period * RENEW_MS;
      pace.renewed(start);
      const perRound: number[] = [];
      for (let now = start + ROUND_MS; now <= start + RENEW_MS; now += ROUND_MS) {
        const due = pace.stepsDue(settledState(now));
        pace.stepped(due);
        perRound.push(due);
      }
      expect(perRound.reduce((a, b) => a + b, 0)).toBe(DEFAULT_BURN_IN);
      expect(Math.max(...perRound)).toBe(1); // 20 steps over 60 rounds: never a burst
      // Evenly spread: one step in every three rounds.
      for (let r = 0; r < perRound.length; r += 3) expect(perRound.slice(r, r + 3).reduce((a, b) => a + b, 0)).toBe(1);
    }
  });

  it('settled right after fast steps: the steps already taken in the period count, so none are owed', () => {
    const pace = new WalkPace(RENEW_MS, 0, { settleMs: 10_000 });
    for (let now = ROUND_MS; now < 10_000; now += ROUND_MS) pace.stepped(pace.stepsDue(settledState(now)));
    // 4 fast rounds took 8 steps: settled at 10 s, nothing is owed until 8/20 of the period.
    expect(pace.stepsDue(settledState(10_000))).toBe(0);
    expect(pace.stepsDue(settledState(RENEW_MS * 0.4 - 1))).toBe(0);
    expect(pace.stepsDue(settledState(RENEW_MS * 0.4 + ROUND_MS))).toBe(1);
  });
});

/** Addresses of a small complete peer graph on 127.0.0.x. */
function peerGraph(size: number): string[] {
  return Array.from({ length: size }, (_, i) => `127.0.0.${i + 2}:7000`);
}

/**
 * An overlay whose every peer answers: pings agree, and each peer lists all the others (with
 * `listsAll`, itself and us too, as a careless or hostile peer might).
 */
function overlayOver(
  peers: readonly string[],
  clock: Clock,
  listsAll = false,
  seed = 11,
  neighborRemoved: (peer: string) => void = () => {},
  hooks: { neighborAdded?: (peer: string) => void } = {},
) {
  const self = '127.0.0.1:7000';
  const calls = { peers: 0, asked: new Set<string>() };
  const transport: Transport = {
    address: self,
    listen: async () => self,
    close: async () => {},
    async call(peer, method) {
      if (method === 'peers') {
        calls.peers++;
        calls.asked.add(peer);
        return { peers: listsAll ? [...peers, self] : peers.filter((p) => p !== peer) };
      }
      return { protocol: PROTOCOL_VERSION, network: 'main', sequenceLength: 0, chunkCount: 0, digestLength: 0, digest: 'ab', inventory: { epoch: 'e', version: 0 } };
    },
  };
  const lifetime = new AbortController();
  const overlay = new Overlay({
    client: new ProtocolClient(transport),
    network: 'main',
    sequence: { sequenceLength: () => 0, sequenceDigest: () => 'ab' },
    clock,
    random: seededRandom(seed),
    logger: silentLogger,
    neighbors: 4,
    neighborRenewMs: RENEW_MS,
    seeds: [peers[0] as string],
    self: () => self,
    signal: lifetime.signal,
    table: { limits: { maxPeers: 100, maxPending: 800, refusalMs: 600_000 }, addressPolicy: LOCAL_ADDRESS_POLICY, blocklist: new Blocklist() },
    events: { peerAdded() {}, peerRemoved() {}, neighborAdded: (peer) => hooks.neighborAdded?.(peer), neighborRemoved },
  });
  return { overlay, calls, stop: () => lifetime.abort() };
}

describe('Overlay neighbour renewal', () => {
  it('renews first after a random part of the period, so that nodes started together do not renew together', async () => {
    const firsts: number[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      const clock = steppedClock();
      const started = clock.now();
      let first: number | undefined;
      const { overlay, stop } = overlayOver(peerGraph(12), clock, false, seed, () => {
        first ??= clock.now() - started;
      });
      overlay.start();
      for (let i = 0; i < RENEW_MS / ROUND_MS + 2 && first === undefined; i++) {
        await overlay.round();
        clock.advance(ROUND_MS);
      }
      stop();
      expect(first).toBeDefined();
      expect(first!).toBeLessThanOrEqual(RENEW_MS + ROUND_MS);
      firsts.push(first!);
    }
    // Without the stagger every node renews at the period: the same round for all five.
    expect(new Set(firsts).size).toBeGreaterThan(2);
  });
});

describe('Overlay start', () => {
  it('takes its seed as neighbour once a walk step has shown it live, before the round\'s other steps', async () => {
    const peers = peerGraph(6);
    const added: { peer: string; peerCalls: number }[] = [];
    const { overlay, calls, stop } = overlayOver(peers, steppedClock(), false, 11, () => {}, {
      neighborAdded: (peer) => added.push({ peer, peerCalls: calls.peers }),
    });
    overlay.start();
    await overlay.round();
    stop();
    // The seed's answer to the first step made it live, and it became a neighbour then (so its
    // inventory is read meanwhile), not after the round's last peer-exchange call.
    expect(added[0]?.peer).toBe(peers[0]);
    expect(added[0]!.peerCalls).toBeLessThan(calls.peers);
    expect(overlay.neighbors()).toContain(peers[0]);
  });
});

describe('Overlay walk pace', () => {
  it('walks two steps a round until settled, then only what renewal needs; a lost neighbour makes it walk fast again', async () => {
    const clock = steppedClock();
    const { overlay, calls, stop } = overlayOver(peerGraph(30), clock);
    overlay.start();
    const round = async () => {
      const before = calls.peers;
      await overlay.round();
      clock.advance(ROUND_MS);
      return calls.peers - before;
    };
    // Unsettled: the table grows (admissions), then the burn-in and settleMs run their course.
    const early: number[] = [];
    for (let i = 0; i < 10; i++) early.push(await round());
    expect(overlay.walkSettled()).toBe(false);
    // Two MHDA steps a round, each about one list (the overlay reuses the lists of the step before).
    expect(early.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2 * 10);
    for (let i = 0; i < 30 && !overlay.walkSettled(); i++) await round();
    expect(overlay.walkSettled()).toBe(true);
    expect(overlay.neighbors()).toHaveLength(4);

    // Settled for two renewal periods: about 20 steps per period, each about one list.
    let settledCalls = 0;
    for (let i = 0; i < (2 * RENEW_MS) / ROUND_MS; i++) settledCalls += await round();
    expect(overlay.walkSettled()).toBe(true);
    expect(settledCalls).toBeGreaterThanOrEqual(2 * (DEFAULT_BURN_IN - 8));
    expect(settledCalls).toBeLessThanOrEqual(2 * (DEFAULT_BURN_IN + 8) * 2);
    // The fast pace would have made about 2 calls a round: 240 in those 120 rounds.
    expect(settledCalls).toBeLessThan(100);

    // A neighbour stalls and is dropped: the next round walks at the fast rate again.
    overlay.dropStaller(overlay.neighbors()[0] as string);
    expect(overlay.walkSettled()).toBe(false);
    expect((await round()) + (await round())).toBeGreaterThanOrEqual(4);
    stop();
  });

  it('a neighbour that leaves the table (penalised, blocked) leaves the neighbour set at once, without waiting for a round', async () => {
    const clock = steppedClock();
    const removed: string[] = [];
    const { overlay, stop } = overlayOver(peerGraph(12), clock, false, 11, (peer) => removed.push(peer));
    overlay.start();
    for (let i = 0; i < 20 && overlay.neighbors().length < 4; i++) {
      await overlay.round();
      clock.advance(ROUND_MS);
    }
    const [first, second] = overlay.neighbors().filter((peer) => !overlay.isSeed(peer));
    expect(second).toBeDefined();
    for (let i = 0; i < 3; i++) overlay.penalise(first as string, 'lied'); // the third offence removes and blocks it
    expect(overlay.isKnownPeer(first as string)).toBe(false);
    expect(overlay.neighbors()).not.toContain(first);
    expect(removed).toEqual([first]);
    stop();
  });

  it('a peer list naming us (and the peer itself) is cleaned before the walk uses it: the walk never asks us, nor takes us as a neighbour', async () => {
    const clock = steppedClock();
    const graph = peerGraph(4);
    const { overlay, calls, stop } = overlayOver(graph, clock, true);
    overlay.start();
    for (let i = 0; i < 40; i++) {
      await overlay.round();
      clock.advance(ROUND_MS);
    }
    expect(calls.peers).toBeGreaterThan(20);
    expect(calls.asked.has('127.0.0.1:7000')).toBe(false);
    expect(overlay.neighbors()).not.toContain('127.0.0.1:7000');
    stop();
  });
});
