/**
 * A host that names itself by host names: a host name in `from` cannot be bound to the connection
 * (no DNS lookup), so the sender check lets it through, and only the connection's own host keeps
 * one machine from taking every place a stranger can take. Against a real node over HttpTransport
 * on 127.0.0.1: one host sending inventoryChanges under 64 different names holds at most
 * MAX_PULLERS_PER_HOST offer targets, and a caller from another host still becomes one afterwards.
 * (Offers kept for callers not yet admitted are capped the same way: test/peers/host-caps.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACKER_HOST, HONEST_HOST, postRaw } from '../hostile/attackers.js';
import { startVictim, type Victim } from '../hostile/victim.js';

let victim: Victim;

beforeAll(async () => {
  victim = await startVictim({ chunkCount: 4 });
});
afterAll(async () => {
  await victim?.close();
});

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

async function pull(from: string, localAddress: string): Promise<{ status: number; offering: unknown }> {
  // Any epoch: a caller whose epoch is not ours is told to read the whole vector, and still made a target.
  const body = JSON.stringify({ since: { epoch: 'another', version: 0 }, from });
  const reply = await postRaw(victim.port, '/atlas/v1/inventoryChanges', body, JSON_HEADERS, localAddress);
  return { status: reply.status, offering: reply.status === 200 ? (JSON.parse(reply.text) as { offering?: unknown }).offering : undefined };
}

describe('one host under many host names', () => {
  it('inventoryChanges from one host under as many names as there are offer targets (64) leave a caller of another host its place as a relay', async () => {
    for (let i = 0; i < 64; i++) {
      const { status, offering } = await pull(`n${i}.evil.example:6264`, ATTACKER_HOST);
      expect(status).toBe(200);
      // Each new name of a host holding MAX_PULLERS_PER_HOST relays takes the place of its oldest.
      expect(offering).toBe(true);
    }
    // Counted by its names' hosts, it held all 64 targets, and a stranger was refused (offering: false).
    expect((await pull(`${HONEST_HOST}:7000`, HONEST_HOST)).offering).toBe(true);
  });

});
