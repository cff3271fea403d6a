/** A bounded JSON GET to a running node's HTTP listener, for `atlas status`, `atlas resolve` and `atlas missing`. */
import { get, type IncomingMessage } from 'node:http';
import { CliError } from './errors.js';

/** Largest reply read by default (the missing list is capped at 1,000 items; a zone file at 40 KB). */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/**
 * GETs `path` from `peer` and parses the reply as a JSON object, whatever its status. The body is
 * read with a byte bound (`maxBytes`, default 4 MiB): a larger reply is cut off, never buffered.
 * node:http, not fetch: fetch refuses the ports browsers block (6000, 6665-6669, 5060...), on
 * which a node may well listen.
 */
export async function getNodeJson(
  peer: string,
  path: string,
  timeoutSeconds: number,
  maxBytes = MAX_REPLY_BYTES,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { status, bytes } = await getBounded(peer, path, Math.round(timeoutSeconds * 1000), maxBytes, timeoutSeconds);
  try {
    const body = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return { status, body: body as Record<string, unknown> };
  } catch {
    throw new CliError(`${peer} sent a reply that is not a JSON object (HTTP ${status})`);
  }
}

function getBounded(peer: string, path: string, timeoutMs: number, maxBytes: number, timeoutSeconds: number): Promise<{ status: number; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(`http://${peer}${path}`);
    } catch {
      reject(new CliError(`cannot reach ${peer}: not a host:port address`));
      return;
    }
    let settled = false;
    const finish = (error: CliError | undefined, value?: { status: number; bytes: Buffer }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) {
        request.destroy();
        reject(error);
      } else resolve(value as { status: number; bytes: Buffer });
    };
    const timer = setTimeout(() => finish(new CliError(`${peer} did not answer in time (${timeoutSeconds} s)`)), timeoutMs);
    const request = get(url, { agent: false, headers: { accept: 'application/json' } }, (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const tooLarge = () => new CliError(`${peer} sent a reply larger than ${maxBytes} bytes`);
      if (Number(response.headers['content-length'] ?? 0) > maxBytes) {
        finish(tooLarge());
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      response.on('data', (piece: Buffer) => {
        size += piece.byteLength;
        if (size > maxBytes) finish(tooLarge());
        else parts.push(piece);
      });
      response.on('end', () => finish(undefined, { status, bytes: Buffer.concat(parts) }));
      response.on('close', () => finish(new CliError(`${peer} broke off its reply`)));
      response.on('error', (error: NodeJS.ErrnoException) => finish(new CliError(`${peer} broke off its reply: ${error.code ?? error.message}`)));
    });
    request.on('error', (error: NodeJS.ErrnoException) => finish(new CliError(`cannot reach ${peer}: ${error.code ?? error.message}`, undefined, { cause: error })));
  });
}
