/**
 * HTTP plumbing shared by HttpTransport, the legacy routes, the CLI and HTTP chunk sources: bounded
 * body reading (of requests and of fetch replies), the error
 * code to status table, and host:port handling.
 */
import type { IncomingMessage } from 'node:http';
import { AtlasError, ErrorCodes, isAtlasError, type ErrorCode } from '../errors.js';
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
  ADDRESS_IN_USE: 500,
  INVALID_OPTION: 500,
  INTERNAL: 500,
});

/** The HTTP status for an error: its code's entry in `HTTP_STATUS_BY_CODE`, else 500. */
export function httpStatusFor(error: unknown): number {
  return isAtlasError(error) ? HTTP_STATUS_BY_CODE[error.code] : 500;
}

export interface ReadBodyOptions {
  /** Stops reading and rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
  /** Told the size of every piece as it arrives (deadline checks). */
  onProgress?: (bytes: number) => void;
}

/** Reads a whole stream, rejecting with TOO_LARGE (and no longer reading) past `maxBytes`. */
export function readBody(stream: IncomingMessage, maxBytes: number, options: ReadBodyOptions = {}): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const { signal, onProgress } = options;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const declared = Number(stream.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(tooLarge(maxBytes));
      return;
    }
    const parts: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      stream.pause();
      reject(signal?.reason);
    };
    const onData = (part: Buffer) => {
      total += part.byteLength;
      onProgress?.(part.byteLength);
      if (total > maxBytes) {
        cleanup();
        stream.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      parts.push(part);
    };
    const onEnd = () => {
      cleanup();
      const whole = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
      resolve(new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new AtlasError(ErrorCodes.ABORTED, 'connection closed before the body was complete', undefined, { cause: error }));
    };
    const onClose = () => {
      if (stream.complete) return;
      cleanup();
      reject(new AtlasError(ErrorCodes.ABORTED, 'connection closed before the body was complete'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
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

export function tooLarge(maxBytes: number): AtlasError {
  return new AtlasError(ErrorCodes.TOO_LARGE, `body larger than ${maxBytes} bytes`, { limit: maxBytes });
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
