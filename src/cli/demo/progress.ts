/**
 * Live progress of the demo's nodes: one bar per node (have / total, rate) on a terminal, plain
 * periodic lines elsewhere (CI, pipes), where redrawn bars would be noise.
 */
import cliProgress from 'cli-progress';

export interface NodeSnapshot {
  index: number;
  address: string;
  have: number;
  total: number;
  /** Chunks stored per second, recently. */
  rate: number;
}

export interface ProgressView {
  update(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void;
  /** Draws the final state and releases the terminal. */
  stop(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void;
}

export interface ProgressOptions {
  stream: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Bars when true, lines when false. */
  tty: boolean;
  /** Period of plain lines. */
  intervalMs: number;
}

export function createProgressView(options: ProgressOptions): ProgressView {
  return options.tty ? new BarsView(options.stream) : new LinesView(options.stream, options.intervalMs);
}

class BarsView implements ProgressView {
  private readonly multibar: cliProgress.MultiBar;
  private readonly bars = new Map<number, cliProgress.SingleBar>();

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

  update(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void {
    if (elapsedMs - this.lastLine < this.intervalMs) return;
    this.write(elapsedMs, snapshots);
  }

  stop(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void {
    this.write(elapsedMs, snapshots);
  }

  private write(elapsedMs: number, snapshots: readonly NodeSnapshot[]): void {
    this.lastLine = elapsedMs;
    const cells = snapshots.map((s) => `node${s.index} ${s.have}/${s.total}${s.have < s.total && s.rate > 0 ? ` (${formatRate(s)})` : ''}`);
    this.stream.write(`[${(elapsedMs / 1000).toFixed(1).padStart(6)} s] ${cells.join('  ')}\n`);
  }
}

function formatRate(s: NodeSnapshot): string {
  return s.have >= s.total ? 'done' : `${s.rate.toFixed(0)} chunks/s`;
}
