/**
 * How the legacy layer talks to the node: only through the transport's service, i.e. the same
 * protocol methods (and the same validation) any peer gets. No node logic lives here.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import type { Method, ParamsOf, PingResult, ResultOf } from '../protocol/messages.js';
import type { Caller } from '../peer-address.js';
import type { RequestContext, TransportService } from '../transport/types.js';

/** How a legacy request reaches the node: the transport's service and who called (`answerXmlRpc`). */
export interface NodeAccess {
  service: TransportService;
  /** Who called, as the transport saw it (UNKNOWN_CALLER when it could not tell), passed on to the node. */
  caller: Caller;
  /** The caller as text, for logs: `formatCaller(caller)`. */
  remote: string;
  signal?: AbortSignal;
  /** The request was admitted by the transport already (RequestContext.admitted). */
  admitted?: boolean;
}

/** One protocol call to the node; an admitted one is refused once its request's signal aborted (RequestGuard.wrap). */
export async function callNode<M extends Method>(access: NodeAccess, method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
  const context: RequestContext = { caller: access.caller, remote: access.remote };
  if (access.signal !== undefined) context.signal = access.signal;
  if (access.admitted === true) context.admitted = true;
  return (await access.service.handle(method, params, context)) as ResultOf<M>;
}

/** The sequence length, from a zero-byte inventory read (no side effect on the node). */
export async function sequenceLength(access: NodeAccess): Promise<number> {
  return (await callNode(access, 'inventory', { offset: 0, length: 0 })).sequenceLength;
}

/**
 * The node's own state (network, counts, digest of its whole sequence), from a ping that names no
 * caller address, so nothing is added to the peer table.
 */
export async function nodeState(access: NodeAccess, configuredNetwork: string | undefined): Promise<PingResult> {
  const network = configuredNetwork ?? networkFromStatus(access.service);
  return callNode(access, 'ping', { network, sequenceLength: Number.MAX_SAFE_INTEGER });
}

function networkFromStatus(service: TransportService): string {
  const status: unknown = service.status?.();
  const network = typeof status === 'object' && status !== null ? (status as { network?: unknown }).network : undefined;
  if (typeof network !== 'string' || network.length === 0) {
    throw new AtlasError(ErrorCodes.INTERNAL, 'legacy API: the node reports no network id; set legacy.network');
  }
  return network;
}

/** The bytes of one chunk, or undefined; through getChunk when the service has it. */
export async function readChunk(access: NodeAccess, address: string): Promise<Uint8Array | undefined> {
  if (access.service.getChunk !== undefined) return access.service.getChunk(address);
  const result = await callNode(access, 'getChunks', { addresses: [address] });
  return result.chunks[0]?.data;
}
