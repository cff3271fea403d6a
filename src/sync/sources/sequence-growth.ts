/**
 * When the sequence reached each length, so that a position found missing later is aged from when
 * it was announced (Backfiller's `ageMs`) without an entry per position: a few marks of (length,
 * time), ascending, from one scan of the missing set to the next. Bounded: past MAX_MARKS every
 * other mark is forgotten, and a forgotten mark's positions take the next one's (later) time, so
 * ages err short, never long.
 */

/** Most marks remembered; past it, every other one is forgotten (the first and the last kept). */
export const MAX_MARKS = 1_024;

/** Marks of when the sequence reached each length (see the file comment). */
export class SequenceGrowth {
  #marks: { length: number; at: number }[] = [];

  /** Marks remembered now (at most MAX_MARKS + 1). */
  get size(): number {
    return this.#marks.length;
  }

  /**
   * The sequence is `length` long at `now` (O(1) a call, never a walk of positions). A shorter
   * length is a rollback: the marks past it are cut, since the positions there may be announced
   * again, other addresses or not; those it kept were known since the first mark it cut.
   */
  mark(length: number, now: number): void {
    const marks = this.#marks;
    const lastLength = (): number => marks.at(-1)?.length ?? -1;
    let cutAt: number | undefined;
    while (lastLength() > length) cutAt = marks.pop()?.at;
    if (cutAt !== undefined && lastLength() < length) marks.push({ length, at: cutAt });
    if (lastLength() === length) return;
    marks.push({ length, at: now });
    if (marks.length > MAX_MARKS) this.#marks = marks.filter((_, i, all) => i === 0 || (all.length - 1 - i) % 2 === 0);
  }

  /**
   * A reader of when positions became known, for positions asked in ascending order: the time of
   * the first mark past each, or `fallback` for one past every mark.
   */
  reader(fallback: number): (position: number) => number {
    const marks = this.#marks;
    let mark = 0;
    return (position) => {
      while ((marks[mark]?.length ?? Infinity) <= position) mark++;
      return marks[mark]?.at ?? fallback;
    };
  }

  /** Forgets every mark: a scan has read every position they cover. */
  clear(): void {
    this.#marks = [];
  }
}
