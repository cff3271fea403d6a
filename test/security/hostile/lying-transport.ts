/**
 * An attacker for tests: a real node whose replies are rewritten on the way out. It runs the
 * honest node's service and hands the honest answer to `lie`, which may return it, change it,
 * replace it or throw. Its own outgoing calls are honest (it joins the overlay like anyone).
 */
import type { Transport, TransportService, RequestContext } from '../../../src/transport/types.js';

const MAX_KEYS = 10_000;

export type Lie = (method: string, params: unknown, honest: () => Promise<unknown>, context: RequestContext) => Promise<unknown>;

export class LyingTransport implements Transport {
  /** Calls answered, by method. */
  readonly served = new Map<string, number>();
  /** Calls answered, by caller. */
  readonly servedTo = new Map<string, number>();
  /** Calls answered, by "caller method" (at most MAX_KEYS keys). */
  readonly servedByRemoteAndMethod = new Map<string, number>();

  constructor(
    private readonly inner: Transport,
    private readonly lie: Lie,
  ) {}

  get address(): string | undefined {
    return this.inner.address;
  }

  listen(service: TransportService): Promise<string> {
    const lying: TransportService = {
      ...service,
      handle: (method, params, context) => {
        this.served.set(method, (this.served.get(method) ?? 0) + 1);
        this.servedTo.set(context.remote, (this.servedTo.get(context.remote) ?? 0) + 1);
        const key = `${context.remote} ${method}`;
        if (this.servedByRemoteAndMethod.has(key) || this.servedByRemoteAndMethod.size < MAX_KEYS) {
          this.servedByRemoteAndMethod.set(key, (this.servedByRemoteAndMethod.get(key) ?? 0) + 1);
        }
        return this.lie(method, params, () => service.handle(method, params, context), context);
      },
    };
    return this.inner.listen(lying);
  }

  call(peer: string, method: string, params: unknown, options?: Parameters<Transport['call']>[3]): Promise<unknown> {
    return this.inner.call(peer, method, params, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
