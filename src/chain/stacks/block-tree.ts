/**
 * Which Stacks blocks are canonical, and the announcement sequence they make. Reorgs are never
 * announced by a stacks-node: a block whose parent is not the tip starts (or grows) a fork, and
 * the fork becomes canonical once it is higher than the tip (as the Stacks blockchain API does).
 * Positions follow the order of BNS prints along the canonical chain.
 */
import type { Announcement } from '../types.js';
import type { NameEvent, ObservedBlock } from './payloads.js';

/** An announcement from a BNS print: the name (`key`, name.namespace), operation, owner, block height and txid, and the attachment index when the print carries one. */
export interface StacksAnnouncement extends Announcement {
  key: string;
  height: number;
  txid: string;
  op: string;
  owner: string;
  attachmentIndex?: number;
}

/** What adding a block did to the sequence: nothing, an append, or a rollback then an append. */
export interface TreeChange {
  rollbackTo?: number;
  appended: StacksAnnouncement[];
}

interface Node {
  parent: string;
  height: number;
  names: readonly NameEvent[];
}

interface CanonicalEntry {
  hash: string;
  height: number;
  /** Position of the block's first announcement. */
  start: number;
}

export class BlockTree {
  readonly #blocks = new Map<string, Node>();
  /** Canonical blocks that still matter: those with names, and every block of the recent window. */
  #canonical: CanonicalEntry[] = [];
  readonly #canonicalIndex = new Map<string, number>();
  readonly #sequence: StacksAnnouncement[] = [];
  /** How many announcements name each address, over every block known (any fork). */
  readonly #announced = new Map<string, number>();
  #tip: string | undefined;
  #tipHeight = -1;
  #sincePrune = 0;

  constructor(private readonly reorgWindow: number) {}

  get sequence(): readonly StacksAnnouncement[] {
    return this.#sequence;
  }

  get tip(): { hash: string; height: number } | undefined {
    return this.#tip === undefined ? undefined : { hash: this.#tip, height: this.#tipHeight };
  }

  get blockCount(): number {
    return this.#blocks.size;
  }

  /** Whether `hash` is a block known: a recent one, or an older canonical one still remembered (it announces names). */
  has(hash: string): boolean {
    return this.#blocks.has(hash) || this.#canonicalIndex.has(hash);
  }

  /** True when some known block (on any fork) announces `address`. */
  announces(address: string): boolean {
    return this.#announced.has(address);
  }

  /**
   * Blocks to keep in a compacted journal, parents before children: the canonical blocks still
   * remembered, each linked to the one before it (the nameless blocks between them are gone), and
   * the side blocks of the reorg window.
   */
  retained(): ObservedBlock[] {
    const out: ObservedBlock[] = [];
    let previous: string | undefined;
    this.#canonical.forEach((entry, index) => {
      const node = this.#blocks.get(entry.hash);
      const names = node ? node.names.slice() : this.#sequence.slice(entry.start, this.#endOf(index)).map(toNameEvent);
      out.push({ indexBlockHash: entry.hash, parentIndexBlockHash: previous ?? node?.parent ?? '', height: entry.height, names });
      previous = entry.hash;
    });
    for (const [hash, node] of this.#blocks) {
      if (!this.#canonicalIndex.has(hash)) out.push({ indexBlockHash: hash, parentIndexBlockHash: node.parent, height: node.height, names: node.names.slice() });
    }
    return out.sort((a, b) => a.height - b.height); // stable: canonical first at equal heights
  }

  /**
   * Why `block` can never be placed, so it is neither kept nor journaled: a height at or below the
   * tip's minus the reorg window, a parent we do not know once we follow a chain (older than the
   * reorg window, or never delivered), a height that is not
   * its parent's + 1 (one block so claimed would freeze the tip), or a side block beyond the
   * `4 × reorgWindow` blocks kept for fork choice. Undefined when it can be added.
   */
  rejects(block: ObservedBlock): string | undefined {
    if (this.#tip === undefined) return undefined;
    // Below the window a block can never become canonical: one delivered again after its own
    // record was forgotten (a nameless block) would otherwise be taken as a new side block.
    if (block.height <= this.#tipHeight - this.reorgWindow) return 'it is older than the reorg window';
    const parentHeight = this.#heightOf(block.parentIndexBlockHash);
    if (parentHeight === undefined) return 'its parent is unknown (older than the reorg window, or never delivered)';
    if (block.height !== parentHeight + 1) return `height ${block.height} is not its parent's ${parentHeight} + 1`;
    if (block.parentIndexBlockHash !== this.#tip && this.#sideBlockCount() >= 4 * this.reorgWindow) return 'too many side blocks kept already';
    return undefined;
  }

  /**
   * `replayed`: the block comes from the journal, so it was placed once already; it is not checked
   * again (a compacted journal links each canonical block kept to the one before it, across the
   * heights of the nameless blocks dropped between them).
   */
  add(block: ObservedBlock, replayed = false): TreeChange | undefined {
    if (this.#blocks.has(block.indexBlockHash) || this.#canonicalIndex.has(block.indexBlockHash)) return undefined;
    if (!replayed && this.rejects(block) !== undefined) return { appended: [] };
    this.#blocks.set(block.indexBlockHash, { parent: block.parentIndexBlockHash, height: block.height, names: block.names });
    for (const name of block.names) this.#announced.set(name.address, (this.#announced.get(name.address) ?? 0) + 1);
    let change: TreeChange | undefined;
    if (this.#tip === undefined || block.parentIndexBlockHash === this.#tip) {
      change = { appended: this.#extend(block.indexBlockHash) };
    } else if (block.height > this.#tipHeight) {
      change = this.#switchTo(block.indexBlockHash);
    } else {
      change = { appended: [] }; // a side block: kept until its fork outgrows the tip
    }
    if (++this.#sincePrune >= 256) this.#prune();
    return change;
  }

  /**
   * Blocks off the canonical chain that may still win: within the reorg window. The recent
   * canonical ones do not count, nor do side blocks fallen below the window, which no block can
   * build on any more and the next prune drops (at most 256 adds away): counted, the stale
   * one-block forks of a long run filled the bound, and the first block of a fork that won was
   * refused, and with it the rest of the real chain, as blocks whose parent is unknown.
   */
  #sideBlockCount(): number {
    const floor = this.#tipHeight - this.reorgWindow;
    let side = 0;
    for (const [hash, node] of this.#blocks) if (node.height > floor && !this.#canonicalIndex.has(hash)) side++;
    return side;
  }

  #heightOf(hash: string): number | undefined {
    const node = this.#blocks.get(hash);
    if (node !== undefined) return node.height;
    const index = this.#canonicalIndex.get(hash);
    return index === undefined ? undefined : this.#canonical[index]?.height;
  }

  #extend(hash: string): StacksAnnouncement[] {
    const node = this.#blocks.get(hash) as Node;
    const start = this.#sequence.length;
    this.#canonicalIndex.set(hash, this.#canonical.length);
    this.#canonical.push({ hash, height: node.height, start });
    const added = node.names.map((name, i) => announcementOf(name, start + i));
    this.#sequence.push(...added);
    this.#tip = hash;
    this.#tipHeight = node.height;
    return added;
  }

  #switchTo(hash: string): TreeChange {
    const branch: string[] = [];
    let cursor: string | undefined = hash;
    while (cursor !== undefined && !this.#canonicalIndex.has(cursor)) {
      const node = this.#blocks.get(cursor);
      if (node === undefined) break;
      branch.push(cursor);
      cursor = node.parent;
    }
    // A fork from before the reorg window (or before the first block seen) cannot be placed.
    if (cursor === undefined || !this.#canonicalIndex.has(cursor)) return { appended: [] };
    const forkAt = this.#canonicalIndex.get(cursor) as number;
    const rollbackTo = this.#endOf(forkAt);
    for (const dropped of this.#canonical.splice(forkAt + 1)) this.#canonicalIndex.delete(dropped.hash);
    this.#sequence.length = rollbackTo;
    const appended: StacksAnnouncement[] = [];
    for (const block of branch.reverse()) appended.push(...this.#extend(block));
    return { rollbackTo, appended };
  }

  /** The sequence length at the end of canonical entry `index` (-1: before everything). */
  #endOf(index: number): number {
    if (index < 0) return 0;
    const next = this.#canonical[index + 1];
    return next === undefined ? this.#sequence.length : next.start;
  }

  /** Forgets side blocks and nameless canonical blocks older than the reorg window. */
  #prune(): void {
    this.#sincePrune = 0;
    const floor = this.#tipHeight - this.reorgWindow;
    for (const [hash, node] of this.#blocks) {
      if (node.height >= floor) continue;
      if (!this.#canonicalIndex.has(hash)) for (const name of node.names) this.#forget(name.address);
      this.#blocks.delete(hash);
    }
    const kept = this.#canonical.filter((entry) => entry.height >= floor || this.#endOf(this.#canonicalIndex.get(entry.hash) as number) > entry.start);
    if (kept.length === this.#canonical.length) return;
    this.#canonical = kept;
    this.#canonicalIndex.clear();
    kept.forEach((entry, i) => this.#canonicalIndex.set(entry.hash, i));
  }

  #forget(address: string): void {
    const count = (this.#announced.get(address) ?? 1) - 1;
    if (count <= 0) this.#announced.delete(address);
    else this.#announced.set(address, count);
  }
}

function announcementOf(name: NameEvent, position: number): StacksAnnouncement {
  const announcement: StacksAnnouncement = { position, address: name.address, key: name.key, height: name.height, txid: name.txid, op: name.op, owner: name.owner };
  if (name.attachmentIndex !== undefined) announcement.attachmentIndex = name.attachmentIndex;
  return Object.freeze(announcement);
}

function toNameEvent(a: StacksAnnouncement): NameEvent {
  const name: NameEvent = { address: a.address, key: a.key, op: a.op, owner: a.owner, txid: a.txid, height: a.height };
  if (a.attachmentIndex !== undefined) name.attachmentIndex = a.attachmentIndex;
  return name;
}
