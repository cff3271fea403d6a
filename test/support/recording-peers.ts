import type { Transport } from '../../src/transport/types.js';

/** One call a `RecordingPeers` received. */
export interface RecordedCall {
  peer: string;
  method: string;
  params: Record<string, unknown>;
}

/** A transport to every peer at once that records each call and answers it at once with `answer`. */
export class RecordingPeers implements Transport {
  readonly address = 'self';
  readonly calls: RecordedCall[] = [];

  constructor(private readonly answer: (method: string, params: Record<string, unknown>) => unknown) {}

  async listen(): Promise<string> {
    return this.address;
  }

  async call(peer: string, method: string, params: unknown): Promise<unknown> {
    const call = { peer, method, params: params as Record<string, unknown> };
    this.calls.push(call);
    return this.answer(method, call.params);
  }

  async close(): Promise<void> {}
}
