/**
 * Requests in flight, per host and in total. A host is remembered only while it holds a slot, so
 * the map never has more entries than there are slots taken; each release gives its slot back
 * exactly once, whichever path (reply done, error, timeout, socket closed) calls it first.
 */
export class InFlightSlots {
  #total = 0;
  readonly #byHost = new Map<string, number>();

  /** Slots taken by every host together. */
  get total(): number {
    return this.#total;
  }

  /** Hosts holding a slot now (a host with none is forgotten). */
  get hosts(): number {
    return this.#byHost.size;
  }

  /** Slots `host` holds. */
  of(host: string): number {
    return this.#byHost.get(host) ?? 0;
  }

  /**
   * Takes one slot for `host` (the caller checks its limits first); returns its release, which
   * answers true on the call that gave the slot back and false on any later one.
   */
  take(host: string): () => boolean {
    this.#total++;
    this.#byHost.set(host, this.of(host) + 1);
    let released = false;
    return () => {
      if (released) return false;
      released = true;
      this.#total--;
      const left = this.of(host) - 1;
      if (left <= 0) this.#byHost.delete(host);
      else this.#byHost.set(host, left);
      return true;
    };
  }
}
