import { formatCaller, peerAddressNamed } from '../../src/peer-address.js';
import type { RequestContext } from '../../src/transport/types.js';

/** The context a transport would give a request from `remote` ("ip:port" or a node name). */
export function contextFrom(remote: string, signal?: AbortSignal): RequestContext {
  const caller = peerAddressNamed(remote);
  return { caller, remote: formatCaller(caller), ...(signal === undefined ? {} : { signal }) };
}
