/**
 * Serving under attack: each attack of README "Security" against a node at default limits, in a
 * child process (bench/attack-victim.ts, so that its RSS is its own), from 127.0.0.1 for a few
 * seconds, while an honest client on 127.0.0.2 fetches a 40 KiB chunk every 20 ms. Reported per
 * attack, beside the no-attack run against the same victim process just before it: the honest
 * client's success rate and p99 latency during the attack, its success rate in the second after
 * the attack ends, the victim's RSS growth, and the bytes the attacking host received against its
 * outbound byte budget. Targets: success >= 99 %, p99 <= 200 ms, full service within 1 s after,
 * RSS growth <= 64 MiB, bytes within the budget plus the replies in flight when it ran out.
 */
import { join } from 'node:path';
import { quantile } from '../src/sim/figures.js';
import { DEFAULT_LIMITS } from '../src/protocol/limits.js';
import { DEFAULT_HTTP_LIMITS } from '../src/transport/http.js';
import {
  bandwidthHog,
  honestClient,
  caseVariants,
  idleKeepAlive,
  pipelineNoRead,
  postLoop,
  sleep,
  slowBodies,
  trickleHeaders,
  type Attack,
  type ProbeResult,
} from '../test/security/hostile/attackers.js';
import { startJsonService } from './child.js';
import type { BenchOptions, BenchReport, BenchRow, BenchSuite } from './report.js';

const MIB = 1024 * 1024;

interface VictimProcess {
  port: number;
  addresses: string[];
  sample(): Promise<{ rss: number }>;
  stop(): Promise<void>;
}

async function startVictimProcess(): Promise<VictimProcess> {
  const { child, info } = await startJsonService<{ port: number; addresses: string[] }>(join(import.meta.dirname, 'attack-victim.ts'), [], { ipc: true });
  return {
    ...info,
    sample: () =>
      new Promise((done) => {
        child.once('message', (message) => done(message as { rss: number }));
        child.send('sample');
      }),
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => done());
        child.send('stop');
      }),
  };
}

/** The 99th percentile of latencies, nearest rank. */
const p99 = (latenciesMs: readonly number[]) => quantile([...latenciesMs].sort((a, b) => a - b), 0.99);

interface AttackCase {
  label: string;
  start(port: number, addresses: readonly string[]): Attack;
}

const xmlCall = (method: string, params: string) => `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;

const ATTACKS: AttackCase[] = [
  { label: '64 slow bodies', start: (port) => slowBodies(port, 64) },
  { label: '256 trickled heads', start: (port) => trickleHeaders(port, 256, 100) },
  { label: '256 idle keep-alive', start: (port) => idleKeepAlive(port, 256) },
  { label: '64 x 10 pipelined getChunks, unread', start: (port, addresses) => pipelineNoRead(port, 64, 10, addresses) },
  { label: '4 x getChunks 100 x 40 KiB', start: (port, addresses) => bandwidthHog(port, 4, addresses) },
  {
    label: '4 x legacy <double> of 90,000 digits',
    start: (port) => postLoop(port, 4, '/RPC2', xmlCall('get_zonefiles', `<param><value><double>${'9'.repeat(90_000)}x</double></value></param>`), { 'content-type': 'text/xml' }),
  },
  {
    label: '4 x cross-site POST /RPC2',
    start: (port) => postLoop(port, 4, '/RPC2', xmlCall('atlas_peer_exchange', '<param><value><string>127.0.0.1:1</string></value></param>'), { 'content-type': 'text/plain', origin: 'http://evil.example' }),
  },
  {
    label: '4 x get_zonefiles, 1 hash in 100 cases',
    start: (port, addresses) =>
      postLoop(port, 4, '/RPC2', xmlCall('get_zonefiles', `<param><value><array><data>${caseVariants(addresses[0] as string, 100).map((v) => `<value><string>${v}</string></value>`).join('')}</data></array></value></param>`), { 'content-type': 'text/xml' }),
  },
];

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
  for (const attackCase of ATTACKS) {
    const victim = await startVictimProcess();
    try {
      const honestAddress = victim.addresses[1] as string;
      const baseline = await honestRun(victim.port, honestAddress, baselineMs);
      const rssBefore = (await victim.sample()).rss;
      let rssPeak = rssBefore;
      const started = performance.now();
      const attack = attackCase.start(victim.port, victim.addresses);
      const during = await honestRun(victim.port, honestAddress, attackMs, async () => {
        rssPeak = Math.max(rssPeak, (await victim.sample()).rss);
      });
      await attack.stop();
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
        { label: `${label}: bytes to attacker`, value: attack.bytesIn() / MIB, unit: 'MiB', reference: { label: 'its budget, plus the replies it may have in flight', value: budget / MIB }, target: { max: 1, of: 'ratio' } },
      );
      const statuses = [...attack.statuses].map(([status, n]) => `${status}: ${n}`).join(', ');
      if (statuses) notes.push(`${label}: attacker replies ${statuses}`);
      if (during.failures.length > 0) notes.push(`${label}: honest failures ${during.failures.join('; ')}`);
    } finally {
      await victim.stop();
    }
  }
  notes.push(`limits: defaults (DEFAULT_HTTP_LIMITS) with perHostLimitsOnLoopback; ${attackMs / 1000} s per attack; honest client: getChunks of one 40 KiB chunk every 20 ms from 127.0.0.2`);
  return { name: 'attack', rows, notes };
};

export default suite;
