/**
 * Small HTTP helpers for the legacy routes: a body reader with its own (lower) bound, and replies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

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

/** The transport's bounded body reader: TOO_LARGE (413) past `maxBytes`. */
export { readBody as readBounded } from '../transport/http-io.js';
