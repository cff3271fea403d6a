/**
 * How bench/load-server.ts answers the questions bench/load.ts asks it ("stats", "verify") and how
 * it closes, apart from the process so that it is tested in-process. A question that arrives
 * while the server closes is still answered (the benchmark waits for every answer): "stats" with
 * the count read just before the close (a closing node refuses stats()), "verify" with an error.
 */

/** What the control needs of the server: its chunk count, and its close. */
export interface ClosableServer {
  chunks(): number;
  close(): Promise<void>;
}

export type ChunksAnswer = { chunks: number } | { error: string };

export interface LoadServerControl<Figures> {
  /** The chunks held: read now, or, once the close has begun, as read before it (an error when that read failed). */
  chunks(): ChunksAnswer;
  /** `measure()`'s figures, or an error once the close has begun (a closing node's store is shut). */
  verify(measure: () => Figures | { error: string }): Figures | { error: string };
  /** Closes the server once, whatever reading its count before does; every call answers the same promise. */
  close(): Promise<void>;
}

export function loadServerControl<Figures>(server: ClosableServer): LoadServerControl<Figures> {
  let chunksBeforeClose: number | undefined;
  let closing: Promise<void> | undefined;
  return {
    chunks() {
      if (!closing) return { chunks: server.chunks() };
      return chunksBeforeClose === undefined ? { error: 'the node is closing' } : { chunks: chunksBeforeClose };
    },
    verify(measure) {
      return closing ? { error: 'the node is closing' } : measure();
    },
    close() {
      if (!closing) {
        try {
          chunksBeforeClose = server.chunks();
        } catch {
          // left undefined: "stats" answers that the node is closing
        }
        closing = server.close();
      }
      return closing;
    },
  };
}
