/**
 * Binds the sender a request names to the connection it came on. `offer` ("I now hold these
 * positions") and `inventoryChanges` (which makes the caller a target of our offers) carry a
 * `from` address that changes how we treat THAT peer. Unchecked, anyone who learnt a node's
 * neighbours from its peer list could offer in a neighbour's name, sending the node to ask that
 * neighbour for thousands of chunks it never had (a reflection of our own requests), or register
 * a third party for offers. So such a request is refused unless its `from` names the caller's own
 * host (the port may differ: calls leave from an ephemeral port). A host name cannot be compared
 * without a DNS lookup and is let through (the default address policy refuses host names anyway).
 */
import { isIP } from 'node:net';
import { AtlasError, ErrorCodes } from '../errors.js';
import type { RequestContext } from '../transport/types.js';
import { remoteHost } from './rate-limit.js';
import type { ProtocolHandler } from './server.js';

/** Methods whose `from` must be the caller itself. */
export const SENDER_BOUND_METHODS: ReadonlySet<string> = new Set(['offer', 'inventoryChanges']);

/** Whether `from` may be the sender of a request that arrived from `remote`. */
export function senderMatches(from: string, remote: string): boolean {
  const host = hostOf(from);
  if (host === undefined) return from === remote; // a bare name (MemoryNetwork): the caller's name
  if (isIP(host) === 0) return true; // a host name: not comparable without DNS
  return remoteHost(isIP(host) === 6 ? `[${host}]:0` : `${host}:0`) === remoteHost(remote);
}

/** The handler, refusing sender-bound requests whose `from` names another host than the caller. */
export function checkSender(handler: ProtocolHandler): ProtocolHandler {
  return (method: string, params: unknown, context: RequestContext): Promise<unknown> => {
    if (SENDER_BOUND_METHODS.has(method) && typeof params === 'object' && params !== null) {
      const from = Object.prototype.hasOwnProperty.call(params, 'from') ? (params as { from?: unknown }).from : undefined;
      if (typeof from === 'string' && !senderMatches(from, context.remote)) {
        return Promise.reject(new AtlasError(ErrorCodes.BAD_REQUEST, `${method}.from: must name the caller's own host`, { field: `${method}.from` }));
      }
    }
    return handler(method, params, context);
  };
}

/** The host of "host:port" / "[v6]:port"; undefined for a bare name. */
function hostOf(address: string): string | undefined {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(address);
  if (bracketed) return bracketed[1];
  const plain = /^([^:[\]]+):\d+$/.exec(address);
  return plain ? plain[1] : undefined;
}
