/**
 * A zone file larger than maxAttachmentBytes (a stacks-node accepts attachments up to 1 MiB) is
 * refused alone: the delivery is answered 200 and the other zone files in it are kept. A 400 would
 * have the stacks-node redeliver it for ever, and stop sending blocks meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { hash160Hex } from '../../src/hash/index.js';
import { BNS, deliver, FakeChain } from './fake-stacks-node.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-oversized-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const zone = (name: string, pad = 0) => new Uint8Array(Buffer.from(`$ORIGIN ${name}\n$TTL 3600\n${'; padding\n'.repeat(pad)}`));

describe('/attachments/new with a zone file over maxAttachmentBytes', () => {
  it('answers 200, keeps the others and counts the large one as refused', async () => {
    const chain = await StacksObserverChain.open({ dir: join(root, 'a'), listen: '127.0.0.1:0', contracts: [BNS] });
    try {
      const fake = new FakeChain();
      const small = zone('small.id');
      const large = zone('large.id', 5_000); // 50 kB
      expect(large.length).toBeGreaterThan(chain.limits.maxAttachmentBytes);
      expect(await deliver(chain.address!, '/new_block', fake.block([
        { name: 'small.id', op: 'name-register', zonefile: small },
        { name: 'large.id', op: 'name-register', zonefile: large },
      ]))).toBe(200);
      expect(await deliver(chain.address!, '/attachments/new', fake.takeAttachments(), 1)).toBe(200);
      expect(Buffer.from(chain.attachment(hash160Hex(small)) ?? []).equals(Buffer.from(small))).toBe(true);
      expect(chain.attachment(hash160Hex(large))).toBeUndefined();
      expect(chain.stats).toMatchObject({ attachmentsStored: 1, attachmentsRefused: 1 });
      // the stream goes on
      expect(await deliver(chain.address!, '/new_block', fake.block([]), 1)).toBe(200);
    } finally {
      await chain.close();
    }
  });
});

describe('/attachments/new with thousands of zone files', () => {
  it('takes every one, whatever their count (its body bounds it): a refusal would be redelivered for ever; one named twice is taken once', async () => {
    const chain = await StacksObserverChain.open({ dir: join(root, 'b'), listen: '127.0.0.1:0', contracts: [BNS] });
    try {
      const fake = new FakeChain();
      const names = Array.from({ length: 3_000 }, (_, i) => `name${i}.id`);
      expect(await deliver(chain.address!, '/new_block', fake.block(names.map((name) => ({ name, op: 'name-register' as const, zonefile: zone(name) }))))).toBe(200);
      const attachments = fake.takeAttachments();
      expect(attachments.length).toBe(3_000);
      expect(await deliver(chain.address!, '/attachments/new', attachments, 1)).toBe(200);
      expect(chain.stats).toMatchObject({ attachmentsStored: 3_000, attachmentsRefused: 0 });
      // Delivered again, and a new zone file twice in one delivery: nothing stored, counted or told twice.
      const heard: string[] = [];
      chain.onAttachment((address) => heard.push(address));
      expect(await deliver(chain.address!, '/attachments/new', attachments.slice(0, 2), 1)).toBe(200);
      expect(await deliver(chain.address!, '/new_block', fake.block([{ name: 'twice.id', op: 'name-register', zonefile: zone('twice.id') }]), 1)).toBe(200);
      const [twice] = fake.takeAttachments();
      expect(await deliver(chain.address!, '/attachments/new', [twice, twice], 1)).toBe(200);
      expect(chain.stats).toMatchObject({ attachmentsStored: 3_001 });
      expect(heard).toEqual([hash160Hex(zone('twice.id'))]);
      for (const name of [names[0]!, names[1_500]!, names[2_999]!]) {
        expect(Buffer.from(chain.attachment(hash160Hex(zone(name))) ?? []).equals(Buffer.from(zone(name)))).toBe(true);
      }
    } finally {
      await chain.close();
    }
  });
});
