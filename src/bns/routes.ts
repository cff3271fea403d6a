/**
 * The name routes clients already call (the Stacks blockchain API's), read-only, with CORS:
 *   GET /v1/names/<name>                  {address, blockchain, last_txid, status, zonefile, zonefile_hash}
 *   GET /v1/names/<name>/zonefile         {zonefile} 200, or 404 {error, code, zonefile_hash?}
 *   GET /v1/names/<name>/zonefile/<hash>  {zonefile} 200 when that hash was bound to the name
 * A missing zone file is a 404 ZONEFILE_MISSING (with the hash, so a client knows what to look
 * for), never a 200 with an empty zone file. A subdomain whose parent has more subdomain records
 * than the node indexes (names.maxParentBytes) is a 507 TOO_LARGE. Every refusal is `{error, code}`
 * (sendFailure). Mounted through HttpTransport's `routes` option.
 */
import type { ServerResponse } from 'node:http';
import type { HttpRoute, HttpRouteContext } from '../transport/http.js';
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import { errorFields } from '../transport/codec.js';
import { busyRetryAfter, httpStatusFor } from '../transport/http-io.js';
import type { NameEntry, ResolveOptions, Resolution } from './names.js';
import { hostKey } from '../transport/rate-limit.js';

/** What the routes read: e.g. an AtlasNode (resolve, history, getChunks). */
export interface NameService {
  resolve(name: string, options?: ResolveOptions): Promise<Resolution>;
  history(name: string, options?: { signal?: AbortSignal }): Promise<NameEntry[]>;
  /** The zone file bytes held for a hash, or undefined. */
  zonefile(hash: string): Uint8Array | undefined;
}

const NAME_PATH = /^\/v1\/names\/([^/]{1,300})(?:\/(zonefile)(?:\/([^/]{1,80}))?)?$/;
const HASH = /^(?:0x)?([0-9a-fA-F]{40})$/;
const CORS = { 'access-control-allow-origin': '*', 'cache-control': 'no-store' };

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(value);
  res.writeHead(status, { ...CORS, ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A refusal or failure met while answering, in the routes' own shape, `{error, code}` as
 * stacks-blockchain-api answers (the transport's envelope, `{error: {code, message}}`, would break
 * a client reading `error` as text), with the transport's status for its code and its private
 * messages hidden (errorFields: a chain adapter's error may name a path or a URL). A subdomain
 * whose parent's records pass names.maxParentBytes is a 507: this node cannot hold what answering
 * needs, until the parent's zone files or the bound change; not the request's size (413), and not
 * "try again soon" (503). An error that is no AtlasError is a bug: left to the transport, which logs it.
 */
function sendFailure(res: ServerResponse, error: unknown, limits: HttpRouteContext['limits']): void {
  if (!isAtlasError(error)) throw error instanceof Error ? error : new AtlasError(ErrorCodes.INTERNAL, String(error));
  const { code, message, retryAfterMs } = errorFields(error);
  const headers: Record<string, string> = code === ErrorCodes.BUSY ? { 'retry-after': busyRetryAfter(error, limits) } : {};
  sendJson(res, code === ErrorCodes.TOO_LARGE ? 507 : httpStatusFor(error), { error: message, code, ...(retryAfterMs === undefined ? {} : { retry_after_ms: retryAfterMs }) }, headers);
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function notFound(res: ServerResponse, resolution: Resolution): void {
  if (resolution.status === 'name-not-found') {
    sendJson(res, 404, { error: `cannot find name ${resolution.name}`, code: 'NAME_NOT_FOUND' });
    return;
  }
  const body: Record<string, unknown> = {
    error: resolution.status === 'revoked' ? `name ${resolution.name} is revoked` : `the zone file of ${resolution.name} is not held yet`,
    code: 'ZONEFILE_MISSING',
  };
  if (resolution.zonefileHash !== undefined) body.zonefile_hash = resolution.zonefileHash;
  sendJson(res, 404, body);
}

/** The /v1/names routes over `service()` (called per request: the node may be opened later). */
export function namesRoutes(service: () => NameService | undefined): HttpRoute[] {
  return [
    {
      method: 'GET',
      match(pathname) {
        const match = NAME_PATH.exec(pathname);
        if (match === null) return undefined;
        const params: Record<string, string> = { name: match[1] as string };
        if (match[2] !== undefined) params.zonefile = '1';
        if (match[3] !== undefined) params.hash = match[3];
        return params;
      },
      async handle(_req, res, context) {
        try {
          await answer(res, service(), context);
        } catch (error) {
          sendFailure(res, error, context.limits);
        }
      },
    },
  ];
}

/** Answers one /v1/names request; a refusal or failure of the resolver is thrown (sendFailure). */
async function answer(res: ServerResponse, names: NameService | undefined, context: HttpRouteContext): Promise<void> {
  const { params, signal } = context;
  if (names === undefined) {
    sendJson(res, 503, { error: 'the node is not open yet', code: 'NOT_STARTED' });
    return;
  }
  let name: string;
  try {
    name = decodeURIComponent(params.name ?? '');
  } catch {
    sendJson(res, 400, { error: 'malformed name', code: 'BAD_REQUEST' });
    return;
  }
  // The caller's host, as the request budget keys it: one host may start only so many subdomain replays.
  const resolution = await names.resolve(name, { signal, host: hostKey(context.caller) });
  if (params.hash !== undefined) return serveByHash(res, names, resolution, params.hash, signal);
  if (params.zonefile !== undefined) {
    if (resolution.status !== 'ok' || resolution.zonefile === undefined) notFound(res, resolution);
    else sendJson(res, 200, { zonefile: text(resolution.zonefile) });
    return;
  }
  if (resolution.status === 'name-not-found') {
    notFound(res, resolution);
    return;
  }
  sendJson(res, 200, {
    address: resolution.owner ?? null,
    blockchain: 'stacks',
    last_txid: resolution.lastTxid ?? null,
    status: resolution.status,
    last_op: resolution.lastOp ?? null,
    zonefile: resolution.zonefile === undefined ? null : text(resolution.zonefile),
    zonefile_hash: resolution.zonefileHash ?? null,
  });
}

async function serveByHash(res: ServerResponse, names: NameService, resolution: Resolution, raw: string, signal: AbortSignal): Promise<void> {
  const hash = HASH.exec(raw)?.[1]?.toLowerCase();
  if (hash === undefined) {
    sendJson(res, 400, { error: 'a zone file hash is 40 hex characters', code: 'BAD_REQUEST' });
    return;
  }
  if (resolution.status === 'name-not-found') {
    notFound(res, resolution);
    return;
  }
  const bound = (await names.history(resolution.name, { signal })).some((entry) => entry.zonefileHash === hash) || resolution.zonefileHash === hash;
  // A subdomain's zone file is held inside its parent's, not as a chunk of its own.
  const bytes = resolution.zonefileHash === hash && resolution.zonefile !== undefined ? resolution.zonefile : bound ? names.zonefile(hash) : undefined;
  if (bytes === undefined) {
    // A subdomain's history is not kept (only its current zone file): "never" would not be known.
    const unknown = `${hash} is not a zone file of ${resolution.name} that this node knows of (of a subdomain, only the current one is known)`;
    sendJson(res, 404, { error: bound ? 'zone file not held yet' : unknown, code: bound ? 'ZONEFILE_MISSING' : 'NAME_NOT_FOUND', zonefile_hash: hash });
    return;
  }
  sendJson(res, 200, { zonefile: text(bytes) });
}
