import { silentLogger, type Logger } from '../runtime.js';
import type { ChainEvent, ChainListener } from './types.js';

/** The subscribers of one chain adapter. A listener that throws is logged, never allowed to break the chain. */
export class ChainListeners {
  readonly #listeners = new Set<ChainListener>();
  readonly #logger: Logger;

  constructor(logger: Logger = silentLogger) {
    this.#logger = logger;
  }

  get size(): number {
    return this.#listeners.size;
  }

  add(listener: ChainListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('a chain listener must be a function');
    this.#listeners.add(listener);
    return () => this.delete(listener);
  }

  delete(listener: ChainListener): void {
    this.#listeners.delete(listener);
  }

  clear(): void {
    this.#listeners.clear();
  }

  emit(event: ChainEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error('a chain listener threw', { event: event.type, error: String(error) });
      }
    }
  }
}
