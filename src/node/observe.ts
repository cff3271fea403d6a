import { isAtlasError } from '../errors.js';
import { isMethod } from '../protocol/messages.js';
import { silentLogger, type Clock, type Logger } from '../runtime.js';
import type { Transport, TransportService } from '../transport/types.js';
import { noMetrics, type Metrics } from './metrics.js';
import type { CallOutcome } from './outbound-guard.js';

/**
 * What the node tells operators about its requests: a debug log line per call made and per
 * request served (method, peer, milliseconds, error code), latency histograms, error counters,
 * and the transport's wire bytes.
 */
export class RequestObserver {
  private wireIn = 0;
  private wireOut = 0;
  /** Nothing reads what this would record (no metrics, the silent logger): every request passes untouched. */
  private readonly unobserved: boolean;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.unobserved = metrics === noMetrics && logger === silentLogger;
  }

  /** A call we made finished. */
  sent(outcome: CallOutcome): void {
    if (this.unobserved) return;
    const { peer, method, ms, error } = outcome;
    this.metrics.count('requests_sent_total', 1, { method });
    this.metrics.observe?.('request_duration_seconds', ms / 1000, { method, side: 'sent' });
    if (error === undefined) {
      this.logger.debug('call', { peer, method, ms });
    } else {
      const code = isAtlasError(error) ? error.code : 'UNREACHABLE';
      this.metrics.count('request_errors_total', 1, { method, side: 'sent', code });
      this.logger.debug('call failed', { peer, method, ms, code });
    }
  }

  /**
   * Wraps the served side: every request is timed, counted and its decision logged. A caller
   * names the method, so any name outside the protocol is counted as 'unknown': each label value
   * is a series a metrics backend keeps for good.
   */
  serve(handle: TransportService['handle']): TransportService['handle'] {
    if (this.unobserved) return handle;
    return async (method, params, context) => {
      const started = this.clock.now();
      this.metrics.count('requests_served_total', 1, { method: methodLabel(method) });
      try {
        const reply = await handle(method, params, context);
        this.served(method, context.remote, started, undefined);
        return reply;
      } catch (error) {
        this.served(method, context.remote, started, error);
        throw error;
      }
    };
  }

  /** Counts the wire bytes the transport moved since the last call. */
  sampleWire(transport: Transport): void {
    if (this.metrics === noMetrics) return; // nobody reads them: a transport's stats may cost a copy
    const stats = transport.stats?.();
    if (stats === undefined) return;
    if (stats.bytesIn > this.wireIn) this.metrics.count('wire_bytes_received_total', stats.bytesIn - this.wireIn);
    if (stats.bytesOut > this.wireOut) this.metrics.count('wire_bytes_sent_total', stats.bytesOut - this.wireOut);
    this.wireIn = Math.max(this.wireIn, stats.bytesIn);
    this.wireOut = Math.max(this.wireOut, stats.bytesOut);
  }

  private served(method: string, remote: string, started: number, error: unknown): void {
    const ms = this.clock.now() - started;
    const label = methodLabel(method);
    this.metrics.observe?.('request_duration_seconds', ms / 1000, { method: label, side: 'served' });
    if (error === undefined) {
      this.logger.debug('request served', { method, remote, ms });
      return;
    }
    const code = isAtlasError(error) ? error.code : 'INTERNAL';
    this.metrics.count('request_errors_total', 1, { method: label, side: 'served', code });
    this.logger.debug('request refused', { method, remote, ms, code });
  }
}

function methodLabel(method: string): string {
  return isMethod(method) ? method : 'unknown';
}
