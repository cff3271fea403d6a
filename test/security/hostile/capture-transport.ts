/**
 * A transport that serves nothing over a network: listen() hands over the node's real
 * TransportService (validation, load shedding and NodeService included) so a test can call it
 * directly, and every outgoing call is recorded and refused with UNREACHABLE, so a node under
 * attack in a test never dials anything real.
 */
import { AtlasError, ErrorCodes } from '../../../src/errors.js';
import type { Transport, TransportService } from '../../../src/transport/types.js';

/** Dials kept for inspection; older ones are dropped (their count stays in `dialCount`). */
const MAX_DIALS_KEPT = 10_000;

export class CaptureTransport implements Transport {
  service: TransportService | undefined;
  readonly dials: { peer: string; method: string }[] = [];
  dialCount = 0;

  constructor(readonly address: string = 'capture-target') {}

  async listen(service: TransportService): Promise<string> {
    this.service = service;
    return this.address;
  }

  async call(peer: string, method: string): Promise<unknown> {
    this.dialCount++;
    this.dials.push({ peer, method });
    if (this.dials.length > MAX_DIALS_KEPT) this.dials.shift();
    throw new AtlasError(ErrorCodes.UNREACHABLE, `${peer} is unreachable (capture transport)`);
  }

  async close(): Promise<void> {
    this.service = undefined;
  }
}

/** Serves through `inner` but never dials: outgoing calls are recorded and refused like CaptureTransport's. */
export class ServeOnlyTransport implements Transport {
  readonly dials: { peer: string; method: string }[] = [];
  dialCount = 0;

  constructor(private readonly inner: Transport) {}

  get address(): string | undefined {
    return this.inner.address;
  }

  listen(service: TransportService): Promise<string> {
    return this.inner.listen(service);
  }

  async call(peer: string, method: string): Promise<unknown> {
    this.dialCount++;
    this.dials.push({ peer, method });
    if (this.dials.length > MAX_DIALS_KEPT) this.dials.shift();
    throw new AtlasError(ErrorCodes.UNREACHABLE, `${peer} is unreachable (serve-only transport)`);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
