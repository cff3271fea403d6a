import { DEFAULT_BURN_IN } from './walk-types.js';

/**
 * How fast the overlay's random walk goes (AtlasNode option `walk`). A node whose overlay is
 * settled walks only as much as neighbour renewal needs; one that is still finding its place
 * walks every round.
 */
export interface WalkPaceOptions {
  /** Walk steps per maintenance round while the overlay is unsettled (each step is one or two peer-exchange calls). */
  stepsPerRound: number;
  /**
   * Walk steps per neighbour renewal once the overlay is settled: each renewal then takes a sample
   * this many steps away from the previous one. The default is the walk's burn-in (SPEC §5.3: 20
   * steps), after which a sample no longer depends on where the walk stood.
   */
  settledStepsPerRenewal: number;
  /**
   * How long the overlay must stay unchanged before the walk slows down: no peer admitted to or
   * removed from the table, no neighbour lost (a renewal aside).
   */
  settleMs: number;
}

/** Defaults of WalkPaceOptions. */
export const DEFAULT_WALK_PACE: Readonly<WalkPaceOptions> = Object.freeze({
  stepsPerRound: 2,
  settledStepsPerRenewal: DEFAULT_BURN_IN,
  settleMs: 20_000,
});

/** What the pace reads of the overlay at the start of a round's walk. */
export interface WalkState {
  now: number;
  /** Fewer neighbours than K. */
  wantsNeighbors: boolean;
  /** The walk is not placed yet, or is discarding a burn-in. */
  burningIn: boolean;
}

/**
 * Decides how many walk steps a round takes. Unsettled (neighbours wanted, a burn-in under way, or
 * the overlay changed within settleMs): stepsPerRound, as fast as the node can find its place.
 * Settled: settledStepsPerRenewal spread evenly over each renewal period, so the sample a renewal
 * takes is well mixed while an idle node makes a fraction of the calls.
 */
export class WalkPace {
  private readonly options: WalkPaceOptions;
  private lastChange: number;
  private periodStart: number;
  private stepsThisPeriod = 0;

  constructor(
    private readonly renewMs: number,
    now: number,
    options?: Partial<WalkPaceOptions>,
  ) {
    this.options = { ...DEFAULT_WALK_PACE, ...options };
    this.lastChange = now;
    this.periodStart = now;
  }

  /** The overlay changed (a peer admitted or removed, a neighbour lost): walk fast for settleMs. */
  changed(now: number): void {
    this.lastChange = Math.max(this.lastChange, now);
  }

  /** Time since the renewal period began (the last renewal, or the start's staggered phase). */
  sinceRenewal(now: number): number {
    return now - this.periodStart;
  }

  /** A neighbour was renewed: a new renewal period begins. */
  renewed(now: number): void {
    this.periodStart = now;
    this.stepsThisPeriod = 0;
  }

  /** Steps taken (counted whatever the pace, so a settled period counts the fast steps it began with). */
  stepped(steps: number): void {
    this.stepsThisPeriod += steps;
  }

  settled(state: WalkState): boolean {
    return !state.wantsNeighbors && !state.burningIn && state.now - this.lastChange >= this.options.settleMs;
  }

  /** Steps this round should take. */
  stepsDue(state: WalkState): number {
    const { stepsPerRound, settledStepsPerRenewal } = this.options;
    if (!this.settled(state)) return stepsPerRound;
    const elapsed = Math.min(1, (state.now - this.periodStart) / this.renewMs);
    const owed = Math.ceil(settledStepsPerRenewal * elapsed) - this.stepsThisPeriod;
    return Math.max(0, Math.min(stepsPerRound, owed));
  }
}
