/**
 * Live progress of the demo's nodes: one bar per node (have / total, rate) on a terminal, plain
 * periodic lines elsewhere (CI, pipes), where redrawn bars would be noise.
 */
import cliProgress from 'cli-progress';
import { formatCount } from '../output.js';

/** One node's state, sampled for the progress view. */
export interface NodeSnapshot {
  index: number;
  address: string;
  have: number;
  total: number;
  /** Chunks stored per second, recently. */
  rate: number;
}

/** Where the demo shows its progress: the put to node 0, then each node's holdings. */
export interface ProgressView {
  /** `put` of `total` chunks are put to node 0 so far (shown at most once an interval on lines). */
  putting(elapsedMs: number, put: number, total: number): void;
  /** The put phase is over, with `put` of `total` chunks put (fewer when stopped early): always shown. */
  donePutting(elapsedMs: number, put: number, total: number): void;
  /** Each node's holdings now (shown at most once an interval on lines). */
  update(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void;
  /** Draws the final state and releases the terminal. */
  stop(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void;
}

/** How the progress view draws. */
export interface ProgressOptions {
  stream: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Bars when true, lines when false. */
  tty: boolean;
  /** Period of plain lines. */
  intervalMs: number;
}

/** Bars on a terminal (`tty`), plain periodic lines otherwise. */
export function createProgressView(options: ProgressOptions): ProgressView {
  return options.tty ? new BarsView(options.stream) : new LinesView(options.stream, options.intervalMs);
}

class BarsView implements ProgressView {
  private readonly multibar: cliProgress.MultiBar;
  private readonly bars = new Map<number, cliProgress.SingleBar>();
  private putBar: cliProgress.SingleBar | undefined;

  constructor(stream: NodeJS.WritableStream) {
    this.multibar = new cliProgress.MultiBar(
      {
        stream,
        format: ' node {index} {address} [{bar}] {value}/{total} {rate}',
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: true,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  putting(_elapsedMs: number, put: number, total: number): void {
    if (this.putBar === undefined) this.putBar = this.multibar.create(Math.max(total, 1), put, {}, { format: ' putting chunks [{bar}] {value}/{total}' });
    else this.putBar.update(put);
  }

  donePutting(elapsedMs: number, put: number, total: number): void {
    this.putting(elapsedMs, put, total);
  }

  update(_elapsedMs: number, snapshots: readonly NodeSnapshot[]): void {
    for (const s of snapshots) {
      const payload = { index: s.index, address: s.address.padEnd(21), rate: formatRate(s) };
      const bar = this.bars.get(s.index);
      if (bar === undefined) this.bars.set(s.index, this.multibar.create(Math.max(s.total, 1), s.have, payload));
      else {
        bar.setTotal(Math.max(s.total, 1));
        bar.update(s.have, payload);
      }
    }
  }

  stop(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void {
    this.update(elapsedMs, snapshots);
    this.multibar.stop();
  }
}

class LinesView implements ProgressView {
  private lastLine = -Infinity;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly intervalMs: number,
  ) {}

  putting(elapsedMs: number, put: number, total: number): void {
    if (elapsedMs - this.lastLine < this.intervalMs) return;
    this.writePut(elapsedMs, put, total);
  }

  donePutting(elapsedMs: number, put: number, total: number): void {
    this.writePut(elapsedMs, put, total);
  }

  update(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void {
    if (elapsedMs - this.lastLine < this.intervalMs) return;
    this.write(elapsedMs, snapshots);
  }

  stop(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void {
    this.write(elapsedMs, snapshots);
  }

  private writePut(elapsedMs: number, put: number, total: number): void {
    this.line(elapsedMs, `putting chunks: ${formatCount(put)} of ${formatCount(total)}`);
  }

  private write(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void {
    const cells = snapshots.map((s) => `node${s.index} ${s.have}/${s.total}${s.have < s.total && s.rate > 0 ? ` (${formatRate(s)})` : ''}`);
    this.line(elapsedMs, cells.join('  '));
  }

  private line(elapsedMs: number, text: string): void {
    this.lastLine = elapsedMs;
    this.stream.write(`[${(elapsedMs / 1000).toFixed(1).padStart(6)} s] ${text}\n`);
  }
}

function formatRate(s: NodeSnapshot): string {
  return s.have >= s.total ? 'done' : `${s.rate.toFixed(0)} chunks/s`;
}
