/**
 * What one parent's owner can make the subdomain index do: hold its records (maxParentBytes), stop
 * the event loop (replay slices by work) and replay it whole at every lookup (late zone files).
 */
import { describe, expect, it } from 'vitest';
import { SubdomainIndex } from '../../src/bns/subdomain-index.js';
import { ErrorCodes } from '../../src/errors.js';

/** A parent zone file as large as a chunk may be, full of minimal subdomain records (~870). */
function stuffedZonefile(parent: string, tag: string): Uint8Array {
  let text = `$ORIGIN ${parent}\n`;
  for (let i = 0; ; i++) {
    const line = `${tag}x${i.toString(36)} TXT "owner=a" "seqn=0" "parts=1" "zf0="\n`;
    if (text.length + line.length > 40_960) break;
    text += line;
  }
  return new TextEncoder().encode(text);
}

/** `count` stuffed zone files of `parent`, held in `files`, and the parent's entries naming them. */
function stuffedParent(files: Map<string, Uint8Array>, parent: string, count: number): { zonefileHash: string }[] {
  return Array.from({ length: count }, (_, f) => {
    const zonefileHash = `${parent}:${f}`.padEnd(40, '0');
    files.set(zonefileHash, stuffedZonefile(parent, `s${f}`));
    return { zonefileHash };
  });
}

describe('subdomain index bounds', () => {
  it('stops a replay past maxParentBytes, keeps nothing of it, refuses TOO_LARGE, and does not replay it again until its zone files change', async () => {
    const files = new Map<string, Uint8Array>();
    const entries = stuffedParent(files, 'attacker.id', 40);
    const honest = stuffedParent(files, 'honest.id', 1);
    let reads = 0;
    let now = 0;
    const index = new SubdomainIndex((address) => (reads++, files.get(address)), { maxParentBytes: 1_000_000 }, { now: () => now });

    await expect(index.lookup('s0x0.attacker.id', 'attacker.id', () => entries)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
    // ~870 records of ~320 bytes a zone file: the bound is reached within the 4th, not after the 40th
    expect(reads).toBeLessThanOrEqual(4);
    expect(index.bytes).toBe(0);

    // Refused again without a replay, however often it is asked, while its zone files are the same.
    reads = 0;
    now += 60_000;
    for (let i = 0; i < 5; i++) await expect(index.lookup('s1x0.attacker.id', 'attacker.id', () => entries)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
    expect(reads).toBe(0);

    // Another parent is served and kept as before.
    expect((await index.lookup('s0x0.honest.id', 'honest.id', () => honest))?.owner).toBe('a');
    expect(index.bytes).toBeGreaterThan(0);
    expect(index.bytes).toBeLessThanOrEqual(1_000_000);

    // A new zone file announced: replayed once more (and refused again).
    const more = [...entries, ...stuffedParent(files, 'attacker.id', 41).slice(40)];
    reads = 0;
    await expect(index.lookup('s0x0.attacker.id', 'attacker.id', () => more)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
    expect(reads).toBeGreaterThan(0);
  });

  it('bounds one parent by maxBytes too: a parent alone is not kept past it', async () => {
    const files = new Map<string, Uint8Array>();
    const entries = stuffedParent(files, 'attacker.id', 20);
    let reads = 0;
    const index = new SubdomainIndex((address) => (reads++, files.get(address)), { maxBytes: 2_000_000 });
    await expect(index.lookup('s0x0.attacker.id', 'attacker.id', () => entries)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE, details: { maxParentBytes: 2_000_000 } });
    expect(reads).toBeLessThanOrEqual(8);
    expect(index.bytes).toBe(0);
  });

  it('drops a kept parent that grows past maxParentBytes', async () => {
    const files = new Map<string, Uint8Array>();
    const entries = stuffedParent(files, 'grows.id', 6);
    const index = new SubdomainIndex((address) => files.get(address), { maxParentBytes: 1_000_000 }, { now: () => 0 });
    expect((await index.lookup('s0x0.grows.id', 'grows.id', () => entries.slice(0, 1)))?.owner).toBe('a');
    const kept = index.bytes;
    expect(kept).toBeGreaterThan(200_000);
    await expect(index.lookup('s0x0.grows.id', 'grows.id', () => entries)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
    expect(index.bytes).toBe(0);
  });

  it('remembers at most maxParents refusals', async () => {
    const files = new Map<string, Uint8Array>();
    const parents = ['a.id', 'b.id', 'c.id'].map((name) => [name, stuffedParent(files, name, 2)] as const);
    let reads = 0;
    const index = new SubdomainIndex((address) => (reads++, files.get(address)), { maxParents: 2, maxParentBytes: 100_000 }, { now: () => 0 });
    const ask = async ([name, entries]: (typeof parents)[number]) => {
      reads = 0;
      await expect(index.lookup(`s0x0.${name}`, name, () => entries)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
      return reads;
    };
    for (const parent of parents) expect(await ask(parent)).toBe(1);
    expect(await ask(parents[2]!)).toBe(0); // remembered
    expect(await ask(parents[0]!)).toBe(1); // forgotten to make room for the third: replayed again
  });

  it('yields to the event loop by work done, not by zone files: several times within one large zone file', async () => {
    const files = new Map<string, Uint8Array>();
    const entries = stuffedParent(files, 'big.id', 10);
    const index = new SubdomainIndex((address) => files.get(address));
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    try {
      expect((await index.lookup('s9x0.big.id', 'big.id', () => entries))?.owner).toBe('a');
    } finally {
      ticking = false;
    }
    // Each zone file is ~40 KB parsed and ~870 records decoded: more than three slices of work.
    expect(turns).toBeGreaterThanOrEqual(3 * entries.length);
  });

  it('starts a replay over for late zone files no sooner than lateReplayFactor times its last duration', async () => {
    const files = new Map<string, Uint8Array>();
    const entries = Array.from({ length: 100 }, (_, f) => {
      const zonefileHash = f.toString(16).padStart(40, '0');
      files.set(zonefileHash, new TextEncoder().encode(`$ORIGIN owner.id\ns${f} TXT "owner=a${f}" "seqn=0" "parts=1" "zf0="\n`));
      return { zonefileHash };
    });
    // The owner holds back five announced zone files and releases one before each lookup.
    const withheld = entries.slice(0, 5).map((entry) => entry.zonefileHash);
    const held = new Set(entries.map((entry) => entry.zonefileHash).filter((hash) => !withheld.includes(hash)));
    let reads = 0;
    let now = 0;
    // Each read takes 1 ms on this clock: a replay of the 100 zone files takes 100 ms.
    const chunk = (address: string) => {
      reads++;
      now++;
      return held.has(address) ? files.get(address) : undefined;
    };
    const index = new SubdomainIndex(chunk, { lateReplayFactor: 10 }, { now: () => now });
    const lookup = () => index.lookup('s0.owner.id', 'owner.id', () => entries);
    expect(await lookup()).toBeUndefined();
    expect(reads).toBe(100);

    reads = 0;
    for (const hash of withheld) {
      held.add(hash);
      expect(await lookup()).toBeUndefined(); // without the late ones, for now
      now += 100;
    }
    expect(reads).toBe(0); // not a replay a lookup: nothing read at all

    now += 500; // 1,000 ms since the replay, which took 100
    expect((await lookup())?.owner).toBe('a0');
    expect(reads).toBe(2 + 100); // one replay (after a read finding a late one arrived, in the lookup and in the replay) takes in all of them
  });
});
