/**
 * GET /v1/atlas/missing: the announced chunks a node does not hold, with age and last attempt
 * (what `atlas missing` prints). Read-only, at most `limit` items (default and ceiling 1,000).
 */
import type { HttpRoute } from '../../transport/http.js';
import type { MissingChunk } from './backfill-types.js';

export const MISSING_PATH = '/v1/atlas/missing';
const MAX_ITEMS = 1_000;

/** What the route reads: a node's (or a Backfiller's) missing chunks, oldest first, and how many there are. */
export interface MissingChunks {
  /** The missing chunks, oldest first, at most `limit` of them. */
  missing(limit?: number): MissingChunk[];
  readonly missingCount: number;
}

/** An HttpRoute for GET /v1/atlas/missing: the announced chunks the node from `source()` does not hold, at most `limit` (default and ceiling 1,000). */
export function missingRoute(source: () => MissingChunks | undefined): HttpRoute {
  return {
    method: 'GET',
    match: (pathname) => pathname === MISSING_PATH,
    async handle(_req, res, context) {
      const node = source();
      const requested = Number(context.url.searchParams.get('limit') ?? MAX_ITEMS);
      const limit = Number.isSafeInteger(requested) && requested > 0 ? Math.min(requested, MAX_ITEMS) : MAX_ITEMS;
      const missing = node?.missing(limit) ?? [];
      const body = JSON.stringify({ total: Math.max(node?.missingCount ?? 0, missing.length), missing });
      res.writeHead(node === undefined ? 503 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
      res.end(body);
    },
  };
}
