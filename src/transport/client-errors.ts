/**
 * The replies to requests node:http refuses itself, before any handler of ours sees them (a head
 * too large, a request too slow, a malformed one): the status node:http would send, with the typed
 * JSON error every other refusal carries, and the connection closed.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { AtlasError, ErrorCodes, type ErrorCode } from '../errors.js';
import { errorReply, jsonCodec } from './codec.js';

/** node:http's own refusals by error code: status, our code and message. Other HPE_ codes are 400 BAD_REQUEST. */
const CLIENT_ERRORS: Readonly<Record<string, readonly [number, ErrorCode, string]>> = {
  HPE_HEADER_OVERFLOW: [431, ErrorCodes.TOO_LARGE, 'request head over the size limit'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, ErrorCodes.TOO_LARGE, 'chunk extensions over the size limit'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, ErrorCodes.TIMEOUT, 'request not received in time'],
};

/**
 * A request node:http refused itself (head too large, too slow, malformed): its status with the
 * typed JSON error our other refusals carry (when nothing was sent yet), then the socket closed.
 * A network error (ECONNRESET...) only closes it. Never throws.
 */
export function refuseClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  try {
    const code = String(error?.code ?? '');
    const known = CLIENT_ERRORS[code] ?? (code.startsWith('HPE_') ? ([400, ErrorCodes.BAD_REQUEST, `malformed request (${code.slice(0, 40)})`] as const) : undefined);
    const started = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent === true;
    if (known === undefined || !socket.writable || started) return;
    const [status, errorCode, message] = known;
    // No body for HEAD: only for a method known (head parsed, or packet) and not HEAD.
    const parsed = (socket as { parser?: { incoming?: { method?: string } | null } | null }).parser?.incoming?.method;
    const method = parsed ?? /^([A-Z]+) /.exec((error as { rawPacket?: Buffer }).rawPacket?.subarray(0, 16).toString('latin1') ?? '')?.[1];
    const body = method === undefined || method === 'HEAD' ? new Uint8Array(0) : jsonCodec.encode(errorReply(new AtlasError(errorCode, message)));
    const lines = `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: ${jsonCodec.contentType}\r\ncontent-length: ${body.byteLength}\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n`;
    socket.write(Buffer.concat([Buffer.from(lines, 'latin1'), body]));
  } catch {
    // nothing more to say: the socket is closed below
  } finally {
    socket.destroy();
  }
}
