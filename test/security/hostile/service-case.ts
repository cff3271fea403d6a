/**
 * One hostile request against a node's real service (validation, load shedding, NodeService), and
 * what must hold for it: the node either answers with a reply that passes the protocol's own
 * reply validation (what an honest client would accept), or refuses with an AtlasError whose
 * code maps to a 4xx status. Anything else (a non-AtlasError, INTERNAL, a 5xx code, a reply an
 * honest client would reject, an oversized reply) is a problem.
 */
import { isAtlasError } from '../../../src/errors.js';
import type { ProtocolLimits } from '../../../src/protocol/limits.js';
import { isMethod } from '../../../src/protocol/messages.js';
import { validateRequest, validateResult } from '../../../src/protocol/validate.js';
import { encodeBinary } from '../../../src/transport/codec.js';
import { HTTP_STATUS_BY_CODE } from '../../../src/transport/http.js';
import type { TransportService } from '../../../src/transport/types.js';
import type { FuzzRequest } from './requests.js';
import { contextFrom } from '../../support/caller.js';

/** Largest reply a request may get: 100 chunks of the largest size, plus framing. */
export const MAX_REPLY_BYTES = 100 * 40_960 + 64 * 1024;

export interface ServiceOutcome {
  /** 'ok' or the refusal's error code. */
  outcome: string;
  problem?: string;
  /** Chunks a putChunks reply says are saved (their bytes). */
  saved?: Uint8Array[];
}

/** The caller's transport identity: the host its `from` names when it calls as that sender. */
export function remoteFor(request: FuzzRequest): string {
  const params = request.params;
  const from = typeof params === 'object' && params !== null && Object.prototype.hasOwnProperty.call(params, 'from') ? (params as { from: unknown }).from : undefined;
  if (!request.asSender || typeof from !== 'string') return '203.0.113.7:4000';
  const hostPort = /^(\[[^\]]+\]|[^:[\]]+):\d+$/.exec(from);
  return hostPort ? `${hostPort[1]}:40000` : from;
}

export async function runServiceCase(service: TransportService, limits: Readonly<ProtocolLimits>, request: FuzzRequest, remote = remoteFor(request)): Promise<ServiceOutcome> {
  let result: unknown;
  try {
    result = await service.handle(request.method, request.params, contextFrom(remote));
  } catch (error) {
    if (!isAtlasError(error)) return { outcome: 'thrown', problem: `threw a non-AtlasError: ${String(error).slice(0, 200)}` };
    const status = HTTP_STATUS_BY_CODE[error.code];
    if (!(status >= 400 && status < 500)) return { outcome: error.code, problem: `refused with ${error.code} (HTTP ${status}): ${error.message.slice(0, 200)}` };
    if (error.message.length > 1_000) return { outcome: error.code, problem: `error message of ${error.message.length} characters` };
    return { outcome: error.code };
  }
  try {
    const valid = validateRequest(request.method, request.params, limits);
    validateResult(valid.method, result, limits, valid.params as never);
    const size = encodeBinary(result).byteLength;
    if (size > MAX_REPLY_BYTES) return { outcome: 'ok', problem: `reply of ${size} bytes` };
    if (valid.method === 'putChunks') {
      const saved = (result as { saved: boolean[] }).saved;
      return { outcome: 'ok', saved: valid.params.chunks.filter((_, i) => saved[i]) };
    }
    return { outcome: 'ok' };
  } catch (error) {
    return { outcome: 'ok', problem: `answered ${request.method} with a reply an honest client rejects: ${String(error).slice(0, 300)}` };
  }
}

/** Counts of outcomes by method, and the first problems, for a summary. */
export class OutcomeTally {
  readonly counts = new Map<string, number>();
  readonly problems: string[] = [];
  cases = 0;

  add(method: string, outcome: string, problem?: string): void {
    this.cases++;
    const key = `${isMethod(method) ? method : '(unknown method)'} ${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (problem !== undefined && this.problems.length < 50) this.problems.push(`${method.slice(0, 40)}: ${problem}`);
  }

  lines(): string[] {
    return [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([key, count]) => `${key}: ${count}`);
  }
}
