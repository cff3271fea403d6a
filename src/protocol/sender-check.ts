/**
 * Binds the sender a request names to the connection it came on. Every `from` a peer states is
 * bound where the node uses it:
 *
 * - `offer` ("I now hold these positions"), `inventoryChanges` (which makes the caller a target
 *   of our offers) and `putChunks` (whose chunks are credited to, and relayed as coming from,
 *   the sender) change how we treat THAT peer. Unchecked, anyone who learnt a node's neighbours
 *   could offer in a neighbour's name, sending the node to ask that neighbour for thousands of
 *   chunks it never had (a reflection of our own requests), or register a third party for offers.
 *   Such a request naming another host than the caller is refused (BAD_REQUEST).
 * - `ping` and `peers` carry `from` only as a candidate address for our peer table. A mismatched
 *   one is dropped (the request is answered as if it named nobody): otherwise one host could fill
 *   our candidate queue with other hosts' addresses, which we would then dial.
 *
 * What cannot be bound: the port of an HTTP caller (calls leave from an ephemeral port, so only
 * the host is compared; the caller's listening port is its own word), and a host NAME (not
 * comparable without a DNS lookup, so let through; the default address policy refuses names).
 * IPv6 callers are compared by /64, as the rate limits key them. On a MemoryNetwork a caller's
 * remote is its own name, so there the whole address is bound.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import type { RequestContext } from '../transport/types.js';
import { hostKey, remoteHost } from '../transport/rate-limit.js';
import { formatPeerAddress, parsePeerAddress, type Caller } from '../peer-address.js';
import type { ProtocolHandler } from './server.js';
import { isPeerAddressSyntax } from './validate.js';

/** Methods whose `from` must be the caller itself, or the request is refused. */
export const SENDER_BOUND_METHODS: ReadonlySet<string> = new Set(['offer', 'inventoryChanges', 'putChunks']);
/** Methods whose `from` is only a candidate address: a mismatched one is dropped. */
export const SENDER_HINT_METHODS: ReadonlySet<string> = new Set(['ping', 'peers']);

/** Whether `from` may be the sender of a request that arrived from `remote`. */
export function senderMatches(from: string, remote: string | Caller): boolean {
  // a caller its transport could not identify can vouch for no sender
  if (typeof remote !== 'string' && remote.family === 'unknown') return false;
  const sender = parsePeerAddress(from);
  // a bare name (MemoryNetwork): the caller's name
  if (sender === undefined || sender.port === undefined) return from === (typeof remote === 'string' ? remote : formatPeerAddress(remote));
  if (sender.family === 'name') return true; // a host name: not comparable without DNS
  return hostKey(sender) === (typeof remote === 'string' ? remoteHost(remote) : hostKey(remote));
}

/**
 * The handler, refusing sender-bound requests whose `from` names another host than the caller,
 * and dropping such a `from` from ping and peers.
 */
export function checkSender(handler: ProtocolHandler): ProtocolHandler {
  return (method: string, params: unknown, context: RequestContext): Promise<unknown> => {
    const bound = SENDER_BOUND_METHODS.has(method);
    if ((bound || SENDER_HINT_METHODS.has(method)) && typeof params === 'object' && params !== null) {
      const from = Object.prototype.hasOwnProperty.call(params, 'from') ? (params as { from?: unknown }).from : undefined;
      // A malformed `from` is left for validation to refuse; only a well-formed other name is dropped.
      if (isPeerAddressSyntax(from) && !senderMatches(from, context.caller)) {
        if (bound) return Promise.reject(new AtlasError(ErrorCodes.BAD_REQUEST, `${method}.from: must name the caller's own host`, { field: `${method}.from` }));
        // A malformed `from` is left for validation to refuse; a well-formed foreign one is dropped.
        if (isPeerAddressSyntax(from)) {
          const { from: _dropped, ...rest } = params as Record<string, unknown>;
          return handler(method, rest, context);
        }
      }
    }
    return handler(method, params, context);
  };
}
