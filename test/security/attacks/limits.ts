/**
 * Small limits for attack tests, so that every deadline passes within a second or two; per-host
 * limits on loopback, since the tests play their hosts on 127.0.0.1 (attacker) and 127.0.0.2.
 */
import type { HttpLimits } from '../../../src/transport/http.js';

const MIB = 1024 * 1024;

export const SMALL_LIMITS: Partial<HttpLimits> = {
  perHostLimitsOnLoopback: true,
  maxConnections: 64,
  maxConnectionsPerHost: 8,
  maxInFlight: 32,
  maxInFlightPerHost: 4,
  headersTimeoutMs: 1_500,
  requestTimeoutMs: 4_000,
  bodyGraceMs: 500,
  minBodyBytesPerSecond: 2_000,
  timeoutCheckIntervalMs: 100,
  keepAliveTimeoutMs: 1_000,
  handlerTimeoutMs: 1_000,
  maxPipelinedPerConnection: 4,
  maxUnsentBytesPerHost: MIB,
  maxUnsentBytes: 8 * MIB,
  replyStallTimeoutMs: 800,
  replyBytesPerSecondPerHost: 4 * MIB,
  replyBurstBytesPerHost: 8 * MIB,
};
