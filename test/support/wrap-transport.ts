/** A transport that passes everything to another, except what a test intercepts: its calls out, or the requests it serves. */
import type { CallOptions, RequestContext, Transport, TransportService } from '../../src/transport/types.js';

export interface TransportWrap {
  /** Each call out; `next` sends it as the inner transport would. */
  call?(peer: string, method: string, params: unknown, options: CallOptions | undefined, next: Transport['call']): Promise<unknown>;
  /** Each request served; `next` is the node's own handler. */
  handle?(method: string, params: unknown, context: RequestContext, next: TransportService['handle']): Promise<unknown>;
}

export function wrapTransport(inner: Transport, wrap: TransportWrap): Transport {
  const next: Transport['call'] = (peer, method, params, options) => inner.call(peer, method, params, options);
  return {
    get address() {
      return inner.address;
    },
    get honoursTimeout() {
      return inner.honoursTimeout === true;
    },
    get handsOverReplies() {
      return inner.handsOverReplies === true;
    },
    listen: (service) => {
      const { handle } = wrap;
      if (handle === undefined) return inner.listen(service);
      const serve: TransportService['handle'] = (method, params, context) => service.handle(method, params, context);
      return inner.listen({ handle: (method, params, context) => handle(method, params, context, serve) });
    },
    close: () => inner.close(),
    call: (peer, method, params, options) => (wrap.call ? wrap.call(peer, method, params, options, next) : next(peer, method, params, options)),
  };
}
