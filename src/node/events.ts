import { EventEmitter } from 'node:events';
import type { Address } from '../address.js';

/** A chunk stored by a node: its address, its positions and where it came from. */
export interface ChunkEvent {
  address: Address;
  positions: readonly number[];
  /** The peer it came from, or 'local' for putChunks. */
  from: string;
}

/** A stored chunk failed its hash check when read to be served: quarantined and fetched again. */
export interface CorruptChunkEvent {
  address: Address;
  /** The positions whose bits were cleared. */
  positions: readonly number[];
}

/** The typed events an `AtlasNode` emits, by name. */
export interface AtlasNodeEvents {
  chunk: ChunkEvent;
  'chunk:corrupt': CorruptChunkEvent;
  'peer:add': { peer: string };
  'peer:remove': { peer: string; reason: string };
  progress: { have: number; total: number };
  error: Error;
}

type Listener<T> = (event: T) => void;

/** EventEmitter with the node's event names and payloads checked by the compiler. */
export class TypedEmitter<Events extends object> {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  on<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): this {
    this.emitter.on(event, listener);
    return this;
  }

  once<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): this {
    this.emitter.once(event, listener);
    return this;
  }

  off<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): this {
    this.emitter.off(event, listener);
    return this;
  }

  listenerCount<E extends keyof Events & string>(event: E): number {
    return this.emitter.listenerCount(event);
  }

  protected emit<E extends keyof Events & string>(event: E, payload: Events[E]): void {
    this.emitter.emit(event, payload);
  }
}
