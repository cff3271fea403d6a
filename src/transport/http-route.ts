/** The shape of a route HttpTransport serves besides its built-in ones (legacy API, host routes). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpLimits } from './http-limits.js';
import type { RequestContext, TransportService } from './types.js';

/**
 * An extra route, e.g. for a legacy API. `match` returns captured parameters (or true) when the
 * route serves the path. The handler must end the response; if it throws, the error is sent as
 * JSON with the status of HTTP_STATUS_BY_CODE. Extra routes are matched before the built-in
 * ones and count against every limit of HttpLimits like them. `OPTIONS` routes answer CORS
 * preflight.
 */
export interface HttpRoute {
  method: 'GET' | 'POST' | 'OPTIONS';
  match(pathname: string): boolean | Readonly<Record<string, string>> | undefined;
  handle(req: IncomingMessage, res: ServerResponse, context: HttpRouteContext): Promise<void>;
  /**
   * The most body the route reads: `readBody`'s default and ceiling, itself at most
   * limits.maxRequestBytes (the default). A request that sends a body without declaring its
   * length is charged this much of its caller's request budget, so a route that reads little
   * should say so.
   */
  maxBodyBytes?: number;
}

/** What an extra HttpRoute's handler gets for one request: the parsed URL, captured params, the service, limits and a bounded body reader. */
export interface HttpRouteContext extends RequestContext {
  signal: AbortSignal;
  params: Readonly<Record<string, string>>;
  url: URL;
  service: TransportService;
  limits: Readonly<HttpLimits>;
  /**
   * The request body, bounded by `maxBytes` (default and ceiling the route's maxBodyBytes, else
   * limits.maxRequestBytes; TOO_LARGE beyond), read at limits.minBodyBytesPerSecond at least, abandoned when `signal` aborts.
   */
  readBody(maxBytes?: number): Promise<Uint8Array>;
}
