import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import type { Clock, TimerHandle } from '../../src/runtime.js';
import { Auditor } from '../../src/sync/audit.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import type { PeerView } from '../../src/sync/peer-view.js';

const PEER = '127.0.0.9:7000';
const ADDRESS = 'ab'.repeat(20);

/** A clock whose timers fire only when the test says, at the time the test says. */
function manualClock() {
  let now = 1_000;
  const setNow = (at: number) => void (now = at);
  const timers = new Map<number, { at: number; run: () => void }>();
  let next = 1;
  const clock: Clock = {
    now: () => now,
    setTimeout: (run, ms) => {
      timers.set(next, { at: now + ms, run });
      return next++ as unknown as TimerHandle;
    },
    clearTimeout: (handle) => void timers.delete(handle as unknown as number),
  };
  /** Fires every timer due by `at`, but with the clock `early` ms short of it (whole-ms timers do that). */
  const fire = (at: number, early = 0) => {
    for (const [id, timer] of [...timers]) {
      if (timer.at > at) continue;
      timers.delete(id);
      now = timer.at - early;
      timer.run();
    }
  };
  return { clock, fire, setNow };
}

function setUp() {
  const { clock, fire, setNow } = manualClock();
  const asked: string[] = [];
  const forms: string[] = [];
  const client = {
    getChunks: async (peer: string, _params: unknown, options?: { packed?: boolean }) => {
      asked.push(peer);
      forms.push(options?.packed === true ? 'packed' : 'hex');
      return { chunks: [], missing: [] };
    },
  };
  const viewsClient = { inventory: () => Promise.reject(new Error('unused')), inventoryChanges: () => Promise.reject(new Error('unused')) };
  const views = new PeerViews({ client: viewsClient, limits: DEFAULT_LIMITS, self: () => 'self', localLength: () => 10 }, { maxPeers: 8 });
  const store = { inventory: new Inventory(10), addressAt: () => ADDRESS };
  const hooks = { called() {}, fault() {}, health: () => 1, stalled() {} };
  const auditor = new Auditor({ store, views, client, clock, random: () => 0, hooks }, { retryMs: 7 });
  return { auditor, views, asked, forms, fire, setNow };
}

describe('Auditor', () => {
  it('runs a follow-up audit even when its timer fires a fraction of a millisecond early', async () => {
    const { auditor, views, asked, fire } = setUp();
    views.track(PEER);
    views.markHeld(PEER, Uint32Array.of(3), 0);
    auditor.watch(PEER, new AbortController().signal);
    fire(1_007, 0.4);
    await Promise.resolve();
    expect(asked).toEqual([PEER]);
    auditor.stop();
  });

  it('asks in the form downloads use: packed to a peer that reads it, so it cannot tell an audit from a download', async () => {
    const { auditor, views, forms, fire } = setUp();
    views.track(PEER);
    views.markHeld(PEER, Uint32Array.of(3), 0);
    (views.get(PEER) as PeerView).addressForm = 'packed'; // as its inventory replies said
    auditor.watch(PEER, new AbortController().signal);
    fire(1_007);
    await Promise.resolve();
    expect(forms).toEqual(['packed']);
    auditor.stop();
  });

  it('a run reads nothing while the neighbours are unchanged and no audit is due, and audits and forgets as they change', async () => {
    const { auditor, views, asked, setNow } = setUp();
    const signal = new AbortController().signal;
    let reads = 0;
    const neighbors = views.neighbors.bind(views);
    views.neighbors = () => {
      reads++;
      return neighbors();
    };
    views.track(PEER);
    views.markHeld(PEER, Uint32Array.of(3), 0);
    auditor.run(signal); // a new neighbour: watched, first audit due retryMs (7 ms) later
    expect(reads).toBe(1);
    for (let i = 0; i < 5; i++) auditor.run(signal);
    expect(reads).toBe(1);
    setNow(1_007); // due (its follow-up timer never fires in this test): the run audits it
    auditor.run(signal);
    await Promise.resolve();
    expect([reads, asked]).toEqual([2, [PEER]]);
    auditor.run(signal); // next due a minute later
    expect(reads).toBe(2);
    views.untrack(PEER); // the neighbours changed: the next run reads them and forgets the peer
    auditor.run(signal);
    expect(reads).toBe(3);
    views.track(PEER);
    views.markHeld(PEER, Uint32Array.of(3), 0);
    auditor.run(signal); // back: watched afresh, first audit retryMs later, not a minute
    setNow(1_014);
    auditor.run(signal);
    await Promise.resolve();
    expect(asked).toEqual([PEER, PEER]);
    auditor.stop();
  });

  it('audits neighbours only, not peers known from their offers alone', async () => {
    const { auditor, views, asked, fire } = setUp();
    views.trackPassive(PEER, 60_000);
    views.markHeld(PEER, Uint32Array.of(3), 0);
    auditor.run(new AbortController().signal);
    fire(10_000);
    await Promise.resolve();
    expect(asked).toEqual([]);
    auditor.stop();
  });
});

describe('Auditor and a neighbour that sheds every chunk request', () => {
  /** A neighbour answering every getChunks BUSY (asking a 30 s pause); `servedEvery` ms a download from it succeeds meanwhile, when set. */
  async function busyNeighbour(servedEvery: number | undefined, forMs: number): Promise<{ stalled: number; faults: string[] }> {
    const { clock, fire } = manualClock();
    const client = {
      getChunks: async (): Promise<never> => {
        throw new AtlasError(ErrorCodes.BUSY, 'busy', { retryAfterMs: 30_000 });
      },
    };
    const viewsClient = { inventory: () => Promise.reject(new Error('unused')), inventoryChanges: () => Promise.reject(new Error('unused')) };
    const views = new PeerViews({ client: viewsClient, limits: DEFAULT_LIMITS, self: () => 'self', localLength: () => 10 }, { maxPeers: 8 });
    const store = { inventory: new Inventory(10), addressAt: () => ADDRESS };
    const seen = { stalled: 0, faults: [] as string[] };
    // Its other calls succeed: health 1.
    const hooks = { called() {}, fault: (_peer: string, fault: string) => void seen.faults.push(fault), health: () => 1, stalled: () => void seen.stalled++ };
    const auditor = new Auditor({ store, views, client, clock, random: () => 0, hooks }, {});
    views.track(PEER);
    views.markHeld(PEER, Uint32Array.of(3), 0);
    const signal = new AbortController().signal;
    auditor.watch(PEER, signal);
    for (let at = 1_000; at <= 1_000 + forMs; at += 1_000) {
      fire(at);
      if (servedEvery !== undefined && at % servedEvery === 0) auditor.served(PEER);
      auditor.run(signal);
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    auditor.stop();
    return seen;
  }

  it('benches it as a staller after maxStalls BUSY audits in a row, within a minute, without calling it a liar', async () => {
    const seen = await busyNeighbour(undefined, 60_000);
    expect(seen.stalled).toBeGreaterThanOrEqual(1);
    expect(seen.faults).not.toContain('bad-data');
  });

  it('leaves it alone while downloads from it are answered (busy because we catch up from it)', async () => {
    const seen = await busyNeighbour(5_000, 5 * 60_000);
    expect(seen.stalled).toBe(0);
  });
});
