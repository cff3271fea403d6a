/**
 * Serving under attack: each attack of README "Security" against a node at default limits, in a
 * child process (bench/attack-victim.ts, so that its RSS is its own), from 127.0.0.1 for a few
 * seconds and from a process of its own (bench/attack-attacker.ts), while an honest client on
 * 127.0.0.2 fetches a 40 KiB chunk every 20 ms. Reported per attack, beside the no-attack run
 * against the same victim process just before it: the honest client's success rate and p99
 * latency during the attack, its success rate in the second after the attack ends, the victim's
 * RSS growth, the bytes the attacking host received against its outbound byte budget, and the
 * longest delay of the victim's event loop. Targets: success >= 99 %, p99 <= 200 ms, full service within 1 s after,
 * RSS growth <= 64 MiB, bytes within the budget plus the replies in flight when it ran out.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { quantile } from '../src/sim/figures.js';
import { DEFAULT_LIMITS } from '../src/protocol/limits.js';
import { DEFAULT_HTTP_LIMITS } from '../src/transport/http.js';
import { honestClient, sleep, type ProbeResult } from '../test/security/hostile/attackers.js';
import { ATTACKS } from './attack-cases.js';
import { bundleScript } from './bundle.js';
import { askChild, startJsonService, stopAll } from './child.js';
import type { BenchOptions, BenchReport, BenchRow, BenchSuite } from './report.js';

const MIB = 1024 * 1024;

interface VictimSample {
  rss: number;
  /** The victim's event loop since the last mark(): its longest and 99th-percentile delay. */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

interface VictimProcess {
  port: number;
  addresses: string[];
  mark(): Promise<void>;
  sample(): Promise<VictimSample>;
  stop(): Promise<void>;
}

interface AttackerProcess {
  /** Stops the attack and answers what it received. */
  stop(): Promise<{ bytesIn: number; statuses: [number, number][] }>;
  /** Ends the process, stopped or not (every path). */
  kill(): Promise<void>;
}

/** A bench child whose IPC channel fails is stopped, not left to crash the benchmark. */
function watched(child: ChildProcess): ChildProcess {
  child.on('error', () => void stopAll([child]));
  return child;
}

// The victim and the attacker run bundled plain JavaScript, as a node on the built package does
// (bundle.ts: the TypeScript loader slows even compiled code), each in a process of its own.
async function startVictimProcess(): Promise<VictimProcess> {
  const script = await bundleScript(join(import.meta.dirname, 'attack-victim.ts'), 'attack-');
  const { child, info } = await startJsonService<{ port: number; addresses: string[] }>(script, [], { ipc: true, plainJs: true });
  watched(child);
  return {
    ...info,
    mark: async () => {
      await askChild(child, 'mark');
    },
    sample: () => askChild<VictimSample>(child, 'sample'),
    // On SIGTERM it closes its node and removes its folder (killed if that takes over 5 s).
    stop: () => stopAll([child]),
  };
}

async function startAttackerProcess(caseIndex: number, port: number, addresses: readonly string[]): Promise<AttackerProcess> {
  const script = await bundleScript(join(import.meta.dirname, 'attack-attacker.ts'), 'attack-');
  const { child } = await startJsonService(script, [String(caseIndex), String(port), JSON.stringify(addresses)], { ipc: true, plainJs: true });
  watched(child);
  return { stop: () => askChild(child, 'stop'), kill: () => stopAll([child]) };
}

/** The 99th percentile of latencies, nearest rank. */
const p99 = (latenciesMs: readonly number[]) => quantile([...latenciesMs].sort((a, b) => a - b), 0.99);

const successPercent = (result: ProbeResult) => (result.ok + result.failed === 0 ? 0 : (100 * result.ok) / (result.ok + result.failed));

async function honestRun(port: number, address: string, ms: number, during?: () => Promise<void>): Promise<ProbeResult> {
  const honest = honestClient(port, [address], { everyMs: 20, timeoutMs: 2_000 });
  const until = performance.now() + ms;
  while (performance.now() < until) {
    await sleep(100);
    await during?.();
  }
  return honest.stop();
}

const suite: BenchSuite = async (options: BenchOptions): Promise<BenchReport> => {
  const attackMs = options.quick ? 2_000 : 5_000;
  const baselineMs = options.quick ? 1_000 : 2_000;
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const limits = DEFAULT_HTTP_LIMITS;
  for (const [caseIndex, attackCase] of ATTACKS.entries()) {
    const victim = await startVictimProcess();
    let attacker: AttackerProcess | undefined;
    try {
      const honestAddress = victim.addresses[1] as string;
      await victim.mark();
      const baseline = await honestRun(victim.port, honestAddress, baselineMs);
      const { rss: rssBefore, loopDelayMaxMs: baselineLoopDelayMs } = await victim.sample();
      let rssPeak = rssBefore;
      await victim.mark();
      const started = performance.now();
      attacker = await startAttackerProcess(caseIndex, victim.port, victim.addresses);
      let loopDelayMs = 0;
      const during = await honestRun(victim.port, honestAddress, attackMs, async () => {
        const sample = await victim.sample();
        rssPeak = Math.max(rssPeak, sample.rss);
        loopDelayMs = sample.loopDelayMaxMs;
      });
      const attack = await attacker.stop();
      const seconds = (performance.now() - started) / 1000;
      const after = await honestRun(victim.port, honestAddress, 1_000);
      rssPeak = Math.max(rssPeak, (await victim.sample()).rss);
      // Reply bytes are charged as they are written, so a host may overshoot by the replies it has
      // in flight when its budget runs out (README, "Serving under attack"): that is the bound.
      const budget = limits.replyBurstBytesPerHost + limits.replyBytesPerSecondPerHost * seconds + limits.maxInFlightPerHost * DEFAULT_LIMITS.maxGetChunksBytes;
      const label = attackCase.label;
      rows.push(
        { label: `${label}: honest success`, value: successPercent(during), unit: '%', reference: { label: 'no attack', value: successPercent(baseline) }, target: { min: 99, of: 'value' } },
        { label: `${label}: honest p99`, value: p99(during.latenciesMs), unit: 'ms', reference: { label: 'no attack', value: p99(baseline.latenciesMs) }, target: { max: 200, of: 'value' } },
        { label: `${label}: honest success, 1 s after`, value: successPercent(after), unit: '%', reference: { label: 'no attack', value: successPercent(baseline) }, target: { min: 99, of: 'value' } },
        { label: `${label}: victim RSS growth`, value: (rssPeak - rssBefore) / MIB, unit: 'MiB', reference: { label: 'victim RSS before the attack', value: rssBefore / MIB }, target: { max: 64, of: 'value' } },
        { label: `${label}: bytes to attacker`, value: attack.bytesIn / MIB, unit: 'MiB', reference: { label: 'its budget, plus the replies it may have in flight', value: budget / MIB }, target: { max: 1, of: 'ratio' } },
        { label: `${label}: victim event loop, longest delay`, value: loopDelayMs, unit: 'ms', reference: { label: 'no attack', value: baselineLoopDelayMs } },
      );
      const statuses = attack.statuses.map(([status, n]) => `${status}: ${n}`).join(', ');
      if (statuses) notes.push(`${label}: attacker replies ${statuses}`);
      if (during.failures.length > 0) notes.push(`${label}: honest failures ${during.failures.join('; ')}`);
    } finally {
      await attacker?.kill();
      await victim.stop();
    }
  }
  notes.push(
    `limits: defaults (DEFAULT_HTTP_LIMITS) with perHostLimitsOnLoopback; ${attackMs / 1000} s per attack; honest client: getChunks of one 40 KiB chunk every 20 ms from 127.0.0.2, in the benchmark's process; the victim and the attacker each in a process of their own, bundled plain JavaScript`,
  );
  return { name: 'attack', rows, notes };
};

export default suite;
