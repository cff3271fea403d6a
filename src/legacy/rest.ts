/**
 * The original REST routes for zone files:
 *   GET  /v1/zonefiles/<address>  raw bytes (application/octet-stream); 404 when absent
 *   POST /v1/zonefile             JSON {zonefile: text} or {zonefile_b64: base64}; stores the zone
 *                                 file (it must be announced) -> {status: true, servers: [...]};
 *                                 also at /v1/zonefile/ (what blockstack.js posts to)
 * Refusals are JSON {error} with the original messages. Both answer CORS (any origin) and their
 * OPTIONS preflight, as the original did: browser wallets use them.
 */
import type { IncomingMessage } from 'node:http';
import { isAddress } from '../address.js';
import type { HttpRoute } from '../transport/http.js';
import { refusalFor } from './envelope.js';
import { allowAnyOrigin, send, sendJson, sendPreflight } from './http-io.js';
import { callNode, readChunk } from './node-calls.js';
import type { LegacyConfig } from './options.js';

const ZONEFILE_PATH = /^\/v1\/zonefiles\/([^/]+)$/;
const ATTACHMENT_PATHS = /^\/v2\/attachments\/[^/]+$/;
const BASE64_OR_EMPTY = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HOST_HEADER = /^[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::[0-9]{1,5})?$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

export function getZonefileRoute(): HttpRoute {
  return {
    method: 'GET',
    match(pathname) {
      const match = ZONEFILE_PATH.exec(pathname);
      return match ? { address: match[1] as string } : undefined;
    },
    async handle(_req, res, context) {
      allowAnyOrigin(res);
      const address = context.params.address ?? '';
      if (!isAddress(address)) {
        sendJson(res, 400, { error: 'Invalid zone file hash' });
        return;
      }
      const data = await readChunk(context, address.toLowerCase());
      if (data === undefined) {
        sendJson(res, 404, { error: 'Blockstack node does not have this zonefile.  Try again later.' }, { 'cache-control': 'no-store' });
        return;
      }
      send(res, 200, 'application/octet-stream', data, { 'cache-control': IMMUTABLE });
    },
  };
}

/** The zone file bytes a POST /v1/zonefile body names, or undefined when the body is not valid. */
function zonefileFromBody(body: Uint8Array, config: Readonly<LegacyConfig>): Uint8Array | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const own = (key: string): unknown => (Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string, unknown>)[key] : undefined);
  const text = own('zonefile');
  const b64 = own('zonefile_b64');
  if (text !== undefined && typeof text !== 'string') return undefined;
  if (b64 !== undefined && (typeof b64 !== 'string' || b64.length > Math.ceil(config.maxZonefileBytes / 3) * 4 || !BASE64_OR_EMPTY.test(b64))) {
    return undefined;
  }
  // As the original: a non-empty `zonefile` wins, else `zonefile_b64`.
  if (typeof text === 'string' && text.length > 0) return new Uint8Array(Buffer.from(text, 'utf8'));
  if (typeof b64 === 'string' && b64.length > 0) return new Uint8Array(Buffer.from(b64, 'base64'));
  return undefined;
}

function serverUrl(req: IncomingMessage): string[] {
  const host = req.headers.host;
  return host !== undefined && HOST_HEADER.test(host) ? [`http://${host}`] : [];
}

export function postZonefileRoute(config: Readonly<LegacyConfig>): HttpRoute {
  return {
    method: 'POST',
    match: isPostZonefilePath,
    maxBodyBytes: config.maxRequestBytes,
    async handle(req, res, context) {
      allowAnyOrigin(res);
      const body = await context.readBody();
      const zonefile = zonefileFromBody(body, config);
      if (zonefile === undefined) {
        sendJson(res, 400, { error: 'Invalid request' });
        return;
      }
      if (zonefile.length > config.maxZonefileBytes) {
        sendJson(res, 400, { error: `Zone file is larger than ${config.maxZonefileBytes} bytes` });
        return;
      }
      let saved: boolean[];
      try {
        saved = (await callNode(context, 'putChunks', { chunks: [zonefile] })).saved;
      } catch (error) {
        const refusal = refusalFor(error);
        sendJson(res, refusal.http_status, { error: refusal.error });
        return;
      }
      if (saved[0] !== true) {
        // The zone file is not announced (or is empty): the original answered this as a 400.
        sendJson(res, 400, { error: 'Blockstack node did not save the zone file' });
        return;
      }
      sendJson(res, 200, { status: true, servers: serverUrl(req) });
    },
  };
}

function isPostZonefilePath(pathname: string): boolean {
  return pathname === '/v1/zonefile' || pathname === '/v1/zonefile/';
}

/** OPTIONS preflight of the CORS routes served: the zone-file routes and/or the attachment routes. */
export function corsPreflightRoute(rest: boolean, attachments: boolean): HttpRoute {
  return {
    method: 'OPTIONS',
    match: (pathname) => (rest && (ZONEFILE_PATH.test(pathname) || isPostZonefilePath(pathname))) || (attachments && ATTACHMENT_PATHS.test(pathname)),
    async handle(_req, res) {
      sendPreflight(res);
    },
  };
}
