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

async function get(url: string, signal: AbortSignal): Promise<Response | undefined> {
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'error' });
  } catch (error) {
    if (signal.aborted) throw new AtlasError(ErrorCodes.ABORTED, 'source fetch aborted', undefined, { cause: signal.reason });
    throw new AtlasError(ErrorCodes.UNREACHABLE, `${url}: ${String((error as Error).cause ?? error)}`.slice(0, 300));
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new AtlasError(ErrorCodes.BAD_REPLY, `${url} answered ${response.status}`);
  }
  return response;
}

function checkBase(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AtlasError(ErrorCodes.BAD_REQUEST, `${what} must be an http(s) URL, got ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new AtlasError(ErrorCodes.BAD_REQUEST, `${what} must be an http(s) URL`);
  return parsed;
}

/** A Stacks node's RPC endpoint, e.g. "http://127.0.0.1:20443". */
export function stacksNodeSource(baseUrl: string): ChunkSource {
  const base = checkBase(baseUrl, 'a Stacks node').toString().replace(/\/+$/, '');
  return {
    name: `stacks:${base}`,
    async fetch(address: Address, options: SourceFetchOptions) {
      const response = await get(`${base}/v2/attachments/${address}`, options.signal);
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
  checkBase(template.replace('{hash}', '0'.repeat(40)), 'a mirror');
  return {
    name: `mirror:${template}`,
    async fetch(address: Address, options: SourceFetchOptions) {
      const response = await get(template.replaceAll('{hash}', address), options.signal);
      return response === undefined ? undefined : readLimited(response, options.maxBytes);
    },
  };
}
