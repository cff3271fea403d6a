/** A bounded JSON GET to a running node's HTTP listener, for `atlas status`, `atlas resolve` and `atlas missing`. */
import { get, type IncomingMessage } from 'node:http';
import { ErrorCodes, isAtlasError } from '../errors.js';
import { readBody } from '../http-body.js';
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
  let url: URL;
  try {
    url = new URL(`http://${peer}${path}`);
  } catch {
    throw new CliError(`cannot reach ${peer}: not a host:port address`);
  }
  const signal = AbortSignal.timeout(Math.round(timeoutSeconds * 1000));
  const timeout = () => new CliError(`${peer} did not answer in time (${timeoutSeconds} s)`);
  let response: IncomingMessage;
  try {
    response = await new Promise<IncomingMessage>((resolve, reject) => get(url, { agent: false, headers: { accept: 'application/json' }, signal }, resolve).on('error', reject));
  } catch (error) {
    if (signal.aborted) throw timeout();
    throw new CliError(`cannot reach ${peer}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, undefined, { cause: error });
  }
  const status = response.statusCode ?? 0;
  let bytes: Uint8Array;
  try {
    bytes = await readBody(response, maxBytes, { signal });
  } catch (error) {
    response.destroy();
    if (isAtlasError(error) && error.code === ErrorCodes.TOO_LARGE) throw new CliError(`${peer} sent a reply larger than ${maxBytes} bytes`);
    if (signal.aborted) throw timeout();
    throw new CliError(`${peer} broke off its reply`, undefined, { cause: error });
  }
  try {
    const body = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return { status, body: body as Record<string, unknown> };
  } catch {
    throw new CliError(`${peer} sent a reply that is not a JSON object (HTTP ${status})`);
  }
}
