/**
 * Small HTTP helpers for the legacy routes: a body reader with its own (lower) bound, and replies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

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

const XML_CONTENT_TYPE = /^(?:text|application)\/xml(?:\s*;|$)/i;

/** True for text/xml or application/xml, with or without parameters. */
export function isXmlContentType(header: string | undefined): boolean {
  return header !== undefined && XML_CONTENT_TYPE.test(header.trim().slice(0, 256));
}

/**
 * True when the request carries an Origin (a browser page) other than the node's own and not in
 * `allowed` ('*' allows any). Requests without Origin are not from a page and pass. The node's
 * own origin is http(s)://<Host> for a Host that names it by address (an IP literal or
 * `localhost`): under a DNS name, a page and its Host agree whatever machine the name points to
 * (DNS rebinding: a page re-resolves its own name to 127.0.0.1, and its Origin is then its Host),
 * so a page under a name passes only when `allowed` lists it.
 */
export function foreignOrigin(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  if (allowed.includes('*') || allowed.includes(origin)) return false;
  const host = req.headers.host;
  if (host === undefined || !namesByAddress(host)) return true;
  return origin !== `http://${host}` && origin !== `https://${host}`;
}

/** `host[:port]` or `[ipv6][:port]`, the name captured. */
const HOST_HEADER = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::\d{1,5})?$/;

/** Whether a Host header names its server by address: an IP literal (IPv6 in brackets) or localhost, with or without a port. */
function namesByAddress(host: string): boolean {
  const match = HOST_HEADER.exec(host);
  if (match === null) return false;
  const [, ipv6, name] = match;
  return ipv6 !== undefined ? isIP(ipv6) === 6 : name?.toLowerCase() === 'localhost' || isIP(name ?? '') === 4;
}

/** CORS headers of the read-only routes and POST /v1/zonefile, as the original API sent them. */
export const CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'access-control-allow-origin': '*' });

/** Lets any origin read this reply (CORS). */
export function allowAnyOrigin(res: ServerResponse): void {
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
}

/** Answers an OPTIONS preflight for a CORS route. */
export function sendPreflight(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(204, {
    ...CORS_HEADERS,
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'content-type',
    'access-control-max-age': '86400',
    'content-length': 0,
  });
  res.end();
}
