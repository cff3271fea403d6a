/**
 * StacksObserverChain: a ChainAdapter fed by a stacks-node `[[events_observer]]`. It listens on
 * its own HTTP port (see observer-http.ts), takes the BNS prints of `/new_block` payloads as
 * announcements (address = zone file hash, key = name.namespace, op, owner, height, txid), turns
 * reorgs into rollbacks, and keeps the zone files `/attachments/new` delivers, verified, for the
 * node to pick up (it is a ChunkSource too: see attachment()). Everything it answers 200 for is
 * fsynced first; every delivery may repeat and is applied once.
 */
import { resolve } from 'node:path';
import { AtlasError, ErrorCodes, InvalidOptionError } from '../../errors.js';
import { checkOptionNames, describe, numberRule, overlayChecked, type OverlayRules } from '../../options-overlay.js';
import { hash160Hex } from '../../hash/index.js';
import { silentLogger, type Logger } from '../../runtime.js';
import { checkMaxReadLimit, readPage } from '../announcement.js';
import { ChainListeners } from '../listeners.js';
import type { ChainAdapter, ChainListener } from '../types.js';
import { pathError, requiredPath } from '../open-errors.js';
import { listenError } from '../../listen-error.js';
import { BlockTree, type StacksAnnouncement } from './block-tree.js';
import { ObserverJournal } from './journal.js';
import { allowedHostList, ObserverServer, DEFAULT_OBSERVER_LIMITS, parseHostPort, type ObserverLimits } from './observer-http.js';
import { MAINNET_BNS_CONTRACT, parseAttachments, parseNewBlock, UNBOUND_ADDRESS, type ObservedBlock } from './payloads.js';
import { isContractId } from './c32.js';

/** Options of `StacksObserverChain`. */
export interface StacksObserverChainOptions {
  /** Folder of the durable journal and the attachments (created if absent). */
  dir: string;
  /** "host:port" the observer listens on; omit to feed it by hand (ingestBlock/ingestAttachments). */
  listen?: string;
  /**
   * BNS contract ids whose prints are names (default: the mainnet contract). Each must be a
   * contract id whose address checksum holds (INVALID_OPTION otherwise): prints of any other
   * contract are skipped without a count, and the blocks journaled without their names, so a wrong
   * id would lose names for good.
   */
  contracts?: readonly string[];
  /** Blocks below tip height - reorgWindow are final: forks from there are ignored (default 1,000). */
  reorgWindow?: number;
  limits?: Partial<ObserverLimits> & {
    /**
     * @deprecated Ignored: every record of an /attachments/new delivery is taken, the delivery
     * bounded by `maxBodyBytes` (refusing one had the stacks-node redeliver it for ever).
     */
    maxAttachmentsPerDelivery?: number;
  };
  /**
   * IP addresses besides this machine's loopback that may connect to the listener (the stacks-node
   * on another host); '*' for any. Default none: the listener authenticates nobody.
   */
  allowedHosts?: readonly string[];
  /** Most announcements one read returns (default 10,000). */
  maxReadLimit?: number;
  logger?: Logger;
}

/** The journal folders open in this process (resolved paths): one observer a folder. */
const openDirs = new Set<string>();

/** Every option of StacksObserverChainOptions: a misspelt one (a `listen` that never listens) is refused. */
const OBSERVER_OPTION_NAMES: Record<keyof StacksObserverChainOptions, true> = {
  dir: true, listen: true, contracts: true, reorgWindow: true, limits: true, allowedHosts: true, maxReadLimit: true, logger: true,
};

/** Counters of what a `StacksObserverChain` received: blocks (and repeats), announcements, zone files stored or refused, malformed events. */
export interface StacksObserverStats {
  blocks: number;
  duplicateBlocks: number;
  /** Blocks that could never be placed (unknown parent, wrong height, too many side blocks): not kept. */
  ignoredBlocks: number;
  announcements: number;
  attachmentsStored: number;
  attachmentsRefused: number;
  /** BNS prints and name NFT events that did not decode: skipped, the rest of the block applied. */
  badEvents: number;
}

/** Called with the address of an attachment the observer stored (`StacksObserverChain.onAttachment`). */
export type AttachmentListener = (address: string) => void;

/** Blocks below the tip's height minus this many are final (StacksObserverChainOptions.reorgWindow). */
const DEFAULT_REORG_WINDOW = 1_000;

/** What each observer limit must be: sizes and counts positive integers, timeouts positive. */
const OBSERVER_LIMIT_RULES: OverlayRules = {
  numbers: numberRule({
    positiveIntegers: ['maxBodyBytes', 'maxBodyValues', 'maxNameEventsPerBlock', 'maxAttachmentBytes', 'maxConnections', 'maxBodiesAtOnce'],
    positive: ['requestTimeoutMs', 'firstByteTimeoutMs'],
  }),
};

/** `contracts`, when given: a non-empty list of contract ids (isContractId); INVALID_OPTION naming it otherwise. */
function checkContracts(contracts: unknown): void {
  if (contracts === undefined) return;
  if (!Array.isArray(contracts) || contracts.length === 0) throw new InvalidOptionError('contracts', `expected a non-empty list of contract ids, got ${describe(contracts)}`);
  for (const id of contracts) {
    if (typeof id !== 'string' || !isContractId(id)) throw new InvalidOptionError('contracts', `not a contract id ("<address>.<name>", its address checksum whole): ${describe(id)}`);
  }
}

/** Fewest bytes releaseAttachments frees before it rewrites the attachments log (a rewrite copies what is kept). */
export const MIN_RELEASE_BYTES = 1024 * 1024;

/**
 * A ChainAdapter fed by a stacks-node event observer: BNS prints in new blocks become announcements
 * and reorgs become rollbacks, durably journaled; it also keeps the verified zone files the node
 * delivers as attachments, serving as a ChunkSource for them.
 */
export class StacksObserverChain implements ChainAdapter {
  readonly maxReadLimit: number;
  readonly limits: Readonly<ObserverLimits>;
  readonly stats: StacksObserverStats = { blocks: 0, duplicateBlocks: 0, ignoredBlocks: 0, announcements: 0, attachmentsStored: 0, attachmentsRefused: 0, badEvents: 0 };
  readonly #contracts: ReadonlySet<string>;
  readonly #tree: BlockTree;
  readonly #journal: ObserverJournal;
  /** Blocks journaled since the journal's length was last checked against what the tree retains. */
  #journaledSinceCheck = 0;
  readonly #listeners: ChainListeners;
  readonly #attachmentListeners = new Set<AttachmentListener>();
  readonly #logger: Logger;
  #server: ObserverServer | undefined;
  #closed = false;
  /** The journal's folder, as openDirs knows it. */
  #openDir: string | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: StacksObserverChainOptions, limits: Readonly<ObserverLimits>, journal: ObserverJournal, tree: BlockTree) {
    this.maxReadLimit = checkMaxReadLimit(options.maxReadLimit);
    this.limits = limits;
    this.#contracts = new Set(options.contracts ?? [MAINNET_BNS_CONTRACT]);
    this.#journal = journal;
    this.#tree = tree;
    this.#logger = options.logger ?? silentLogger;
    this.#listeners = new ChainListeners(this.#logger);
  }

  /** Replays the journal in `dir`, then listens when `listen` is given. */
  static async open(options: StacksObserverChainOptions): Promise<StacksObserverChain> {
    checkOptionNames<StacksObserverChainOptions>(options, OBSERVER_OPTION_NAMES, 'StacksObserverChain.open');
    const dir = requiredPath('dir', options.dir);
    if (options.listen !== undefined) {
      try {
        parseHostPort(options.listen);
      } catch {
        throw new InvalidOptionError('listen', `expected a "host:port" address, got ${describe(options.listen)}`);
      }
    }
    const logger = options.logger ?? silentLogger;
    // Checked before anything is opened: a bad entry touches nothing.
    const allowList = allowedHostList(options.allowedHosts ?? []);
    const { maxAttachmentsPerDelivery: _ignored, ...given } = options.limits ?? {};
    const limits = overlayChecked('limits', DEFAULT_OBSERVER_LIMITS, given, OBSERVER_LIMIT_RULES);
    const reorgWindow = options.reorgWindow ?? DEFAULT_REORG_WINDOW;
    if (!Number.isSafeInteger(reorgWindow) || reorgWindow < 1) throw new InvalidOptionError('reorgWindow', `expected a positive integer, got ${describe(reorgWindow)}`);
    checkMaxReadLimit(options.maxReadLimit);
    checkContracts(options.contracts);
    const tree = new BlockTree(reorgWindow);
    // Two observers appending to one journal would interleave their records: one at a time per folder.
    const openDir = resolve(dir);
    if (openDirs.has(openDir)) throw new AtlasError(ErrorCodes.BUSY, `the observer journal in ${dir} is already open in this process`, { dir: openDir });
    let journal: ObserverJournal;
    try {
      journal = ObserverJournal.open(dir, logger, limits.maxAttachmentBytes, (block) => tree.add(block, true));
    } catch (error) {
      throw pathError('dir', dir, error);
    }
    openDirs.add(openDir);
    try {
      compactIfLong(journal, tree, logger);
      const chain = new StacksObserverChain(options, limits, journal, tree);
      chain.#openDir = openDir;
      if (options.listen !== undefined) {
        const server = new ObserverServer(chain, chain.limits, logger, allowList);
        await server.listen(options.listen).catch((error: unknown) => {
          throw listenError(error, options.listen);
        });
        chain.#server = server;
      }
      return chain;
    } catch (error) {
      // What the journal's open created goes again (a taken listen address): what was there stays.
      journal.undoCreated();
      openDirs.delete(openDir);
      throw error;
    }
  }

  /** "host:port" the observer listens on, once listening. */
  get address(): string | undefined {
    return this.#server?.address;
  }

  /** `stats` as the node shows it (node.stats().chain). */
  counts(): Readonly<Record<string, number>> {
    return { ...this.stats };
  }

  /** The canonical tip, if any block was seen. */
  get tip(): { hash: string; height: number } | undefined {
    return this.#tree.tip;
  }

  /**
   * Applies one `/new_block` payload: journals it (fsync), then tells subscribers. A block seen
   * before is a no-op. Throws BAD_REQUEST or TOO_MANY for a payload of the wrong shape.
   */
  ingestBlock(payload: unknown): void {
    this.#checkOpen();
    const block = parseNewBlock(payload, {
      contracts: this.#contracts,
      maxNameEvents: this.limits.maxNameEventsPerBlock,
      onBadEvent: (error, txid) => {
        this.stats.badEvents++;
        this.#logger.warn('stacks observer: skipping a BNS event that does not decode', { txid, code: error.code, error: error.message });
      },
    });
    if (this.#tree.has(block.indexBlockHash)) {
      this.stats.duplicateBlocks++;
      return;
    }
    const rejected = this.#tree.rejects(block);
    if (rejected !== undefined) {
      this.stats.ignoredBlocks++;
      this.#logger.warn('stacks observer: ignoring a block that cannot be placed', { block: block.indexBlockHash, height: block.height, reason: rejected });
      return;
    }
    this.#journal.append(block);
    const change = this.#tree.add(block);
    this.stats.blocks++;
    if (++this.#journaledSinceCheck >= COMPACT_SLACK) {
      this.#journaledSinceCheck = 0;
      compactIfLong(this.#journal, this.#tree, this.#logger);
    }
    if (change === undefined) return;
    if (change.rollbackTo !== undefined) {
      this.#logger.warn('stacks observer: chain reorganised', { tip: block.indexBlockHash, length: change.rollbackTo });
      this.#listeners.emit({ type: 'rollback', length: change.rollbackTo });
    }
    if (change.appended.length > 0) {
      this.stats.announcements += change.appended.length;
      this.#listeners.emit({ type: 'append', announcements: change.appended.slice() });
    }
  }

  /**
   * Applies one `/attachments/new` payload: every content whose hash160 equals its content_hash,
   * is announced by some known block and fits maxAttachmentBytes is stored (fsync); others are
   * counted in stats.attachmentsRefused and logged. Returns the addresses stored by this call.
   */
  ingestAttachments(payload: unknown): string[] {
    this.#checkOpen();
    const records = parseAttachments(payload, this.limits.maxAttachmentBytes);
    const stored: { address: string; content: Uint8Array }[] = [];
    const taken = new Set<string>(); // a delivery may name one zone file twice: stored and counted once
    for (const record of records) {
      if (record.oversized === true && record.contentHash !== UNBOUND_ADDRESS && !this.#journal.attachments.has(record.contentHash)) {
        this.stats.attachmentsRefused++;
        this.#logger.warn('stacks observer: refusing an attachment', { contentHash: record.contentHash, reason: `larger than ${this.limits.maxAttachmentBytes} bytes` });
        continue;
      }
      if (record.contentHash === UNBOUND_ADDRESS || record.content.length === 0) continue;
      if (this.#journal.attachments.has(record.contentHash) || taken.has(record.contentHash)) continue;
      const actual = hash160Hex(record.content);
      if (actual !== record.contentHash || !this.#tree.announces(actual)) {
        this.stats.attachmentsRefused++;
        this.#logger.warn('stacks observer: refusing an attachment', { contentHash: record.contentHash, reason: actual !== record.contentHash ? 'hash mismatch' : 'not announced' });
        continue;
      }
      taken.add(actual);
      stored.push({ address: actual, content: record.content });
    }
    this.#journal.attachments.put(stored);
    this.stats.attachmentsStored += stored.length;
    for (const { address } of stored) for (const listener of this.#attachmentListeners) this.#safely(() => listener(address));
    return stored.map((item) => item.address);
  }

  /** Verified zone file bytes received by `/attachments/new`, or undefined. */
  attachment(address: string): Uint8Array | undefined {
    return this.#journal.attachments.get(address);
  }

  /**
   * Drops from the attachments log the attachments `heldElsewhere` says are kept durably elsewhere
   * (the node's store: `(address) => node.store.has(address)`), so the log does not keep a second
   * copy of every zone file for ever. The log is rewritten (atomically) only when that frees at
   * least `minBytes` (default MIN_RELEASE_BYTES) or half of it. Returns how many were dropped.
   */
  releaseAttachments(heldElsewhere: (address: string) => boolean, options: { minBytes?: number } = {}): number {
    this.#checkOpen();
    const released = new Set<string>();
    let releasable = 0;
    for (const [address, length] of this.#journal.attachments.lengths()) {
      if (!heldElsewhere(address)) continue;
      released.add(address);
      releasable += length;
    }
    const minBytes = options.minBytes ?? MIN_RELEASE_BYTES;
    if (releasable === 0 || (releasable < minBytes && 2 * releasable < this.#journal.attachments.bytes)) return 0;
    const dropped = this.#journal.attachments.compact((address) => !released.has(address));
    this.#logger.info('stacks observer: attachments log compacted', { dropped, bytes: this.#journal.attachments.bytes });
    return dropped;
  }

  /** Calls `listener` with the address of every attachment stored from now on. */
  onAttachment(listener: AttachmentListener): () => void {
    this.#attachmentListeners.add(listener);
    return () => this.#attachmentListeners.delete(listener);
  }

  /** The announcements of the canonical chain, with their Stacks fields. */
  get announcements(): readonly StacksAnnouncement[] {
    return this.#tree.sequence;
  }

  async length(options?: { signal?: AbortSignal }): Promise<number> {
    this.#checkOpen();
    if (options?.signal?.aborted) throw new AtlasError(ErrorCodes.ABORTED, 'aborted');
    return this.#tree.sequence.length;
  }

  async read(from: number, limit: number, options?: { signal?: AbortSignal }): Promise<StacksAnnouncement[]> {
    this.#checkOpen();
    return readPage(this.#tree.sequence, from, limit, this.maxReadLimit, options?.signal) as StacksAnnouncement[];
  }

  subscribe(listener: ChainListener): () => void {
    this.#checkOpen();
    return this.#listeners.add(listener);
  }

  /** Stops listening and closes the journal. Every call answers the same promise; the journal is closed even when the server's close fails. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#server?.close();
    } finally {
      this.#listeners.clear();
      this.#attachmentListeners.clear();
      this.#journal.close();
      if (this.#openDir !== undefined) openDirs.delete(this.#openDir);
    }
  }

  #safely(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#logger.error('stacks observer: an attachment listener threw', { error: String(error) });
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new AtlasError(ErrorCodes.CLOSED, 'the observer chain is closed');
  }
}

/** Records beyond twice what the tree retains before the journal is rewritten; also how many blocks journaled between two checks. */
const COMPACT_SLACK = 1_000;

/**
 * A journal much longer than what the tree still needs (old, nameless blocks) is rewritten: at
 * open, and every COMPACT_SLACK blocks journaled (it would otherwise grow by every block for as
 * long as the observer runs). A check costs what the tree retains, and a rewrite comes after at
 * least as many new records, so each block pays its share once. A rewrite that fails (a full
 * disk) changes nothing: the journal is used as it is.
 */
function compactIfLong(journal: ObserverJournal, tree: BlockTree, logger: Logger): void {
  const retained = tree.retained();
  if (journal.records <= 2 * retained.length + COMPACT_SLACK) return;
  try {
    journal.compact(retained);
  } catch (error) {
    logger.warn('stacks observer: the journal could not be compacted; it is used as it is', { error: String(error) });
  }
}
