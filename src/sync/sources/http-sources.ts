/**
 * Chunk sources reached over HTTP: a Stacks node's `GET /v2/attachments/<hash>` (200 with the bytes
 * as a JSON string of hex, 404 when it does not have them) and mirrors that serve raw bytes at a
 * URL template such as `https://host/v1/zonefiles/{hash}`. Replies are read with a byte bound; a
 * source that stalls is cut by the caller's signal.
 */
import type { Address } from '../../address.js';
import { AtlasError, ErrorCodes } from '../../errors.js';
import { readLimited } from '../../transport/http-io.js';
import type { ChunkSource, SourceFetchOptions } from './types.js';

const HEX = /^[0-9a-fA-F]*$/;

/**
 * Ports the Fetch standard blocks ("port blocking"): Node's fetch refuses them, so a source on one
 * would fail every attempt; it is refused when made instead.
 */
export const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139,
  143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659,
  4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** `url`, fetched by `source` (its name: no path, query or credentials, which may hold secrets). */
async function get(url: string, source: string, signal: AbortSignal): Promise<Response | undefined> {
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'error' });
  } catch (error) {
    if (signal.aborted) throw new AtlasError(ErrorCodes.ABORTED, 'source fetch aborted', undefined, { cause: signal.reason });
    throw new AtlasError(ErrorCodes.UNREACHABLE, `${source}: ${String((error as Error).cause ?? error)}`.slice(0, 300));
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new AtlasError(ErrorCodes.BAD_REPLY, `${source} answered ${response.status}`);
  }
  return response;
}

/** An http(s) URL `fetch` can reach: no credentials in it (fetch refuses them), no port fetch blocks. */
function checkBase(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AtlasError(ErrorCodes.BAD_REQUEST, `${what} must be an http(s) URL, got ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new AtlasError(ErrorCodes.BAD_REQUEST, `${what} must be an http(s) URL`);
  if (parsed.username !== '' || parsed.password !== '') throw new AtlasError(ErrorCodes.BAD_REQUEST, `${what} URL must not hold credentials (fetch refuses them)`);
  if (parsed.port !== '' && FETCH_BLOCKED_PORTS.has(Number(parsed.port))) throw new AtlasError(ErrorCodes.BAD_REQUEST, `${what} on port ${parsed.port}: fetch refuses that port (Fetch standard, port blocking)`);
  return parsed;
}

/** A Stacks node's RPC endpoint, e.g. "http://127.0.0.1:20443". */
export function stacksNodeSource(baseUrl: string): ChunkSource {
  const parsed = checkBase(baseUrl, 'a Stacks node');
  const base = parsed.toString().replace(/\/+$/, '');
  // Named by origin only: the name reaches logs and the public missing route.
  const name = `stacks:${parsed.origin}`;
  return {
    name,
    async fetch(address: Address, options: SourceFetchOptions) {
      const response = await get(`${base}/v2/attachments/${address}`, name, options.signal);
      if (response === undefined) return undefined;
      // JSON string of hex: two characters a byte, quotes around.
      const body = Buffer.from(await readLimited(response, options.maxBytes * 2 + 2)).toString('utf8');
      let hex: unknown;
      try {
        hex = JSON.parse(body);
      } catch {
        throw new AtlasError(ErrorCodes.BAD_REPLY, 'a Stacks node answered something other than a JSON string');
      }
      if (typeof hex !== 'string' || hex.length % 2 !== 0 || !HEX.test(hex.replace(/^0x/, ''))) throw new AtlasError(ErrorCodes.BAD_REPLY, 'a Stacks node answered something other than hex');
      return new Uint8Array(Buffer.from(hex.replace(/^0x/, ''), 'hex'));
    },
  };
}

/** A mirror serving raw bytes at a URL template holding "{hash}". */
export function mirrorSource(template: string): ChunkSource {
  if (!template.includes('{hash}')) throw new AtlasError(ErrorCodes.BAD_REQUEST, 'a mirror URL template must contain {hash}');
  const name = `mirror:${checkBase(template.replace('{hash}', '0'.repeat(40)), 'a mirror').origin}`;
  return {
    name,
    async fetch(address: Address, options: SourceFetchOptions) {
      const response = await get(template.replaceAll('{hash}', address), name, options.signal);
      return response === undefined ? undefined : readLimited(response, options.maxBytes);
    },
  };
}
