/**
 * The serving side of the protocol, whatever the transport: validate the request, call the typed
 * service method, return its result. Refusals are AtlasErrors and pass through with their code;
 * anything else the service throws is a bug on our side and leaves as INTERNAL with a generic
 * message (the details go to the logger, never to the caller).
 */
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import { silentLogger, type Logger } from '../runtime.js';
import type { RequestContext, TransportService } from '../transport/types.js';
import { getChunksReply } from './get-chunks.js';
import { resolveLimits, type ProtocolLimits } from './limits.js';
import type { AtlasService, CallerContext } from './messages.js';
import { validateRequest, type ValidRequest } from './validate.js';

/** Options of `createProtocolService`: limits, guards and logging. */
export interface ProtocolServiceOptions {
  /** Limits requests are checked against; missing fields take DEFAULT_LIMITS. */
  limits?: Partial<ProtocolLimits>;
  logger?: Logger;
}

/** A transport service handler that answers protocol calls. */
export type ProtocolHandler = TransportService['handle'];

/** The transport handler of `service`: validates every request and result against the protocol. */
export function createProtocolService(service: AtlasService, options: ProtocolServiceOptions = {}): ProtocolHandler {
  const limits = resolveLimits(options.limits);
  const logger = options.logger ?? silentLogger;

  // Promise callbacks rather than an async function: one await less on every request served.
  return (method: string, params: unknown, context: RequestContext): Promise<unknown> => {
    let request: ValidRequest;
    try {
      request = validateRequest(method, params, limits);
    } catch (error) {
      return Promise.reject(error);
    }
    // The transport's context as it is: its signal is not read here, so a transport that makes
    // one only when asked (MemoryTransport) makes none for a service that never looks. A request
    // whose caller left before it was handled is the transport's to refuse (HttpTransport does).
    const caller: CallerContext = context;
    const failed = (error: unknown): never => {
      if (isAtlasError(error)) throw error;
      logger.error('protocol: service failed', { method: request.method, remote: context.remote, error: describeError(error) });
      throw new AtlasError(ErrorCodes.INTERNAL, 'internal error');
    };
    let work: Promise<unknown>;
    try {
      work = dispatch(service, request, caller);
    } catch (error) {
      work = Promise.reject(error);
    }
    return work.then(undefined, failed);
  };
}

function dispatch(service: AtlasService, request: ValidRequest, caller: CallerContext): Promise<unknown> {
  switch (request.method) {
    case 'ping':
      return service.ping(request.params, caller);
    case 'peers':
      return service.peers(request.params, caller);
    case 'inventory':
      return service.inventory(request.params, caller);
    case 'inventoryChanges':
      return service.inventoryChanges(request.params, caller);
    case 'getChunks':
      return service.getChunks(request.params, caller).then((result) => getChunksReply(request.params, result));
    case 'putChunks':
      return service.putChunks(request.params, caller);
    case 'offer':
      return service.offer(request.params, caller);
  }
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return 'unprintable error';
  }
}
