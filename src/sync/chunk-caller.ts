import type { ProtocolClient } from '../protocol/client.js';
import type { Clock, Random } from '../runtime.js';
import type { PeerViews } from './peer-views.js';
import type { ChunkRequestParts } from './request-chunks.js';

/**
 * The client a downloader or an auditor calls: getChunks, and whether its transport hands replies
 * over (absent: it does not, and received bytes are copied when stored).
 */
export type ChunkClient = Pick<ProtocolClient, 'getChunks'> & Partial<Pick<ProtocolClient, 'handsOverReplies'>>;

/** What a downloader or an auditor works with: the store it checks or fills, the peers' views, the one call it makes, and hooks back to its owner. */
export interface ChunkCallComponents<Hooks, Store> {
  /** Only the parts of the store used (see each component's type). */
  store: Store;
  views: PeerViews;
  client: ChunkClient;
  clock: Clock;
  random: Random;
  hooks: Hooks;
}

/** The `(components, options)` pair a downloader or an auditor is built from, unpacked once, options over their defaults. */
export abstract class ChunkCaller<Hooks, Store, Options extends object> {
  protected readonly options: Options;
  protected readonly store: Store;
  protected readonly views: PeerViews;
  protected readonly client: ChunkClient;
  protected readonly clock: Clock;
  protected readonly random: Random;
  protected readonly hooks: Hooks;
  /** What every getChunks call of this caller goes through (request-chunks.ts). */
  protected readonly requestParts: ChunkRequestParts;

  protected constructor(components: ChunkCallComponents<Hooks, Store>, defaults: Readonly<Options>, options: Partial<Options> | undefined) {
    ({ store: this.store, views: this.views, client: this.client, clock: this.clock, random: this.random, hooks: this.hooks } = components);
    this.requestParts = { client: this.client, views: this.views, clock: this.clock };
    this.options = { ...defaults, ...options };
  }
}
