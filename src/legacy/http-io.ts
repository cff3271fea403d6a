/**
 * Small HTTP helpers for the legacy routes: a body reader with its own (lower) bound, and replies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AtlasError, ErrorCodes } from '../errors.js';

function tooLarge(maxBytes: number): AtlasError {
  return new AtlasError(ErrorCodes.TOO_LARGE, `body larger than ${maxBytes} bytes`, { limit: maxBytes });
}

/**
 * Reads the request body, refusing (TOO_LARGE, which the transport answers with 413 and a closed
 * connection) as soon as it passes `maxBytes`: a declared Content-Length is checked before reading.
 */
export function readBounded(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(tooLarge(maxBytes));
      return;
    }
    const parts: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (part: Buffer) => {
      total += part.byteLength;
      if (total > maxBytes) {
        cleanup();
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      parts.push(part);
    };
    const onEnd = () => {
      cleanup();
      const whole = Buffer.concat(parts, total);
      resolve(new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new AtlasError(ErrorCodes.ABORTED, 'connection closed before the body was complete', undefined, { cause: error }));
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      reject(new AtlasError(ErrorCodes.ABORTED, 'connection closed before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function send(res: ServerResponse, status: number, contentType: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': bytes.byteLength });
  res.end(bytes);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json', JSON.stringify(value), headers);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  send(res, status, 'text/plain; charset=utf-8', text, { 'cache-control': 'no-store' });
}

/** True when the request body carries a content coding other than identity (gzip...). */
export function hasContentCoding(req: IncomingMessage): boolean {
  const coding = req.headers['content-encoding'];
  return coding !== undefined && coding.trim().toLowerCase() !== 'identity' && coding.trim() !== '';
}
