/**
 * HTTP plumbing shared by HttpTransport, the legacy routes, the CLI and HTTP chunk sources: bounded
 * reading of fetch replies, the error code to status table, and host:port handling. Request bodies
 * are read by `../http-body.ts`, which the Stacks observer shares.
 */
import type { IncomingMessage } from 'node:http';
import { AtlasError, ErrorCodes, isAtlasError, retryAfterOf, type ErrorCode } from '../errors.js';
import type { HttpLimits } from './http-limits.js';
import { tooLarge } from '../http-body.js';
import { UNKNOWN_CALLER, formatPeerAddress, parsePeerAddress, peerAddressOf, type Caller, type PeerAddress } from '../peer-address.js';

/**
 * HTTP status of each error code. Input errors are 400, admission refusals 422, overload and
 * shutdown 503, a failure talking to a further peer 502; INTERNAL and STORE_CORRUPT go out as
 * 500 with a generic message.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  BAD_REQUEST: 400,
  BAD_ADDRESS: 400,
  BAD_ANNOUNCEMENT: 400,
  TOO_MANY: 400,
  TOO_LARGE: 413,
  CHUNK_TOO_LARGE: 413,
  CHUNK_EMPTY: 422,
  NOT_ANNOUNCED: 422,
  HASH_MISMATCH: 422,
  UNSOLICITED: 422,
  NETWORK_MISMATCH: 422,
  VERSION_MISMATCH: 422,
  SEQUENCE_MISMATCH: 422,
  ADDRESS_REFUSED: 422,
  BLOCKED: 403,
  UNKNOWN_METHOD: 404,
  BUSY: 503,
  CLOSED: 503,
  NOT_STARTED: 503,
  ALREADY_STARTED: 503,
  ABORTED: 503,
  TIMEOUT: 504,
  UNREACHABLE: 502,
  BAD_REPLY: 502,
  STORE_CORRUPT: 500,
  // host-side errors that never describe a request; 500 should one ever reach a reply
  STORE_PERMISSION: 500,
  STORE_IO: 500,
  ADDRESS_IN_USE: 500,
  INVALID_OPTION: 500,
  CHAIN_FAILED: 500,
  INTERNAL: 500,
});

/** The HTTP status for an error: its code's entry in `HTTP_STATUS_BY_CODE`, else 500. */
export function httpStatusFor(error: unknown): number {
  return isAtlasError(error) ? HTTP_STATUS_BY_CODE[error.code] : 500;
}

/**
 * Reads a fetch reply's body, at most `maxBytes` of it: TOO_LARGE as soon as the declared length
 * or the bytes received pass the bound, and the rest of the stream is cancelled, never buffered.
 */
export async function readLimited(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(maxBytes);
  }
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    parts.push(value);
  }
  const whole = Buffer.concat(parts);
  return new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength);
}


export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function etagMatches(header: string | undefined, address: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    const opaque = trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed;
    return opaque === '*' || opaque.toLowerCase() === `"${address}"`;
  });
}

/** Who is at the other end of a socket: its remote IP and port, UNKNOWN_CALLER once the socket has closed. */
export function callerOf(socket: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined }): Caller {
  const ip = socket.remoteAddress;
  return ip === undefined ? UNKNOWN_CALLER : peerAddressOf(ip, socket.remotePort ?? 0);
}

/** Splits "host:port" or "[v6]:port"; ADDRESS_REFUSED when it is neither. */
export function splitHostPort(value: string): { host: string; port: number } {
  const peer = parsePeerAddress(value);
  // A host with white space or a slash would change the meaning of the URL it goes into.
  if (peer === undefined || peer.port === undefined || /[\s/]/.test(peer.host)) {
    throw new AtlasError(ErrorCodes.ADDRESS_REFUSED, `not a host:port address: ${JSON.stringify(String(value).slice(0, 100))}`);
  }
  return { host: peer.host, port: peer.port };
}

export function joinHostPort(host: string, port: number): string {
  return formatPeerAddress({ host, port, family: host.includes(':') ? 6 : 'name' });
}

/** Retry-After for a BUSY refusal: the pause it names (its retryAfterMs) in whole seconds, else the transport's `busyRetryAfterSeconds`. */
export function busyRetryAfter(error: AtlasError, limits: Pick<HttpLimits, 'busyRetryAfterSeconds'>): string {
  const pause = retryAfterOf((error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs);
  return String(pause === undefined ? limits.busyRetryAfterSeconds : Math.ceil(pause / 1000));
}
