/**
 * Attacks on connections and in-flight slots, against a real node over HttpTransport on
 * 127.0.0.1 with small limits: slow bodies, trickled heads, idle keep-alive sockets, all from one
 * host. An honest client on 127.0.0.2 must be served throughout and after; once the attacker
 * leaves, every slot is back and the attacker's own host is served again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { honestClient, idleKeepAlive, postRaw, sleep, slowBodies, trickleHeaders, ATTACKER_HOST, type Attack } from '../hostile/attackers.js';
import { startVictim, type Victim } from '../hostile/victim.js';
import { encodeBinary } from '../../../src/transport/codec.js';
import { SMALL_LIMITS } from './limits.js';

let victim: Victim;

beforeAll(async () => {
  victim = await startVictim({ limits: SMALL_LIMITS, chunkCount: 10 });
});
afterAll(async () => {
  await victim?.close();
});

/**
 * Runs `attack` for `ms` while an honest client works; returns what the honest client got, the
 * server's stats at the end of the attack and the most connections it held at once meanwhile.
 */
async function underAttack(start: () => Attack, ms: number) {
  // A generous timeout: the machine running the tests may be busy; the victim must not be stalled.
  const honest = honestClient(victim.port, [victim.chunks[0]!.address], { timeoutMs: 5_000 });
  await sleep(200);
  const before = honest.take();
  const attack = start();
  let peakConnections = 0;
  const sampler = setInterval(() => {
    peakConnections = Math.max(peakConnections, victim.transport.serverStats()!.connections);
  }, 10);
  await sleep(ms);
  clearInterval(sampler);
  const during = honest.take();
  const stats = victim.transport.serverStats()!;
  await attack.stop();
  await sleep(400);
  const after = await honest.stop();
  return { before, during, after, stats, attack, peakConnections };
}

/** A getChunks from the attacker's own address: served again once its attack is over. */
async function attackerServed(): Promise<number> {
  const body = Buffer.from(encodeBinary({ addresses: [victim.chunks[1]!.address] }));
  return (await postRaw(victim.port, '/atlas/v1/getChunks', body, { 'content-type': 'application/msgpack' }, ATTACKER_HOST)).status;
}

describe('one host holding connections and slots', () => {
  it('64 slow bodies (head, one body byte, then silence): honest served; slow senders cut off; every slot back after', async () => {
    const { before, during, after, stats } = await underAttack(() => slowBodies(victim.port, 64), 2_500);
    expect(before.failed).toBe(0);
    expect(during.failures).toEqual([]);
    expect(during.ok).toBeGreaterThanOrEqual(1);
    expect(after.failures).toEqual([]);
    expect(after.ok).toBeGreaterThanOrEqual(1);
    // Beyond its in-flight cap (4) the attacker is refused at once (503 and close, or closed at
    // accept), before any body byte is read; admitted bodies are cut off for being too slow.
    expect(stats.inFlight).toBeLessThanOrEqual(4 + 1);
    expect(stats.busy + stats.refusedConnections).toBeGreaterThan(32);
    expect(stats.slowBodies).toBeGreaterThanOrEqual(4);
    const now = victim.transport.serverStats()!;
    expect(now.inFlight).toBe(0);
    expect(await attackerServed()).toBe(200);
  });

  it('256 sockets trickling their heads: honest served; the attacker never holds more than its connection cap', async () => {
    const refusedBefore = victim.transport.serverStats()!.refusedConnections;
    const { during, after, stats, peakConnections } = await underAttack(() => trickleHeaders(victim.port, 256, 100), 2_500);
    expect(during.failures).toEqual([]);
    expect(during.ok).toBeGreaterThanOrEqual(1);
    expect(after.failures).toEqual([]);
    // The attacker's 8 plus the honest client's one, at every moment of the attack.
    expect(peakConnections).toBeLessThanOrEqual(8 + 1);
    expect(stats.refusedConnections - refusedBefore).toBeGreaterThan(0);
    expect(await attackerServed()).toBe(200);
  });

  it('256 idle keep-alive sockets: honest served; idle ones closed; the host is served again after', async () => {
    // Past keepAliveTimeoutMs (1 s) and headersTimeoutMs (1.5 s) with room to spare: only the
    // honest client's connection may still be open.
    const { during, after, stats, peakConnections } = await underAttack(() => idleKeepAlive(victim.port, 256), 2_600);
    expect(during.failures).toEqual([]);
    expect(during.ok).toBeGreaterThanOrEqual(1);
    expect(after.failures).toEqual([]);
    expect(peakConnections).toBeLessThanOrEqual(8 + 1);
    expect(stats.connections).toBeLessThanOrEqual(1);
    expect(await attackerServed()).toBe(200);
  });

  it('the flood of every attack above at once, then nothing: all slots and connections are released', async () => {
    const attacks = [slowBodies(victim.port, 70), trickleHeaders(victim.port, 64, 100), idleKeepAlive(victim.port, 64)];
    await sleep(1_500);
    await Promise.all(attacks.map((attack) => attack.stop()));
    // Closes reach the server within moments; a busy machine may take longer than an idle one.
    for (let i = 0; i < 100 && victim.transport.serverStats()!.connections > 0; i++) await sleep(50);
    const stats = victim.transport.serverStats()!;
    expect(stats.inFlight).toBe(0);
    expect(stats.connections).toBe(0);
    expect(await attackerServed()).toBe(200);
  });
});
