/** A bounded JSON GET to a running node's HTTP listener, for `atlas status`, `atlas resolve` and `atlas missing`. */
import { isAtlasError, ErrorCodes } from '../errors.js';
import { readLimited } from '../transport/http-io.js';
import { CliError } from './errors.js';

/** Largest reply read by default (the missing list is capped at 1,000 items; a zone file at 40 KB). */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/**
 * GETs `path` from `peer` and parses the reply as a JSON object, whatever its status. The body is
 * read with a byte bound (`maxBytes`, default 4 MiB): a larger reply is cut off, never buffered.
 */
export async function getNodeJson(
  peer: string,
  path: string,
  timeoutSeconds: number,
  maxBytes = MAX_REPLY_BYTES,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const timeout = () => new CliError(`${peer} did not answer in time (${timeoutSeconds} s)`);
  let response: Response;
  let bytes: Uint8Array;
  try {
    response = await fetch(`http://${peer}${path}`, { signal: AbortSignal.timeout(Math.round(timeoutSeconds * 1000)), redirect: 'error' });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw timeout();
    throw new CliError(`cannot reach ${peer}: ${String((error as Error).cause ?? (error as Error).message)}`, undefined, { cause: error });
  }
  try {
    bytes = await readLimited(response, maxBytes);
  } catch (error) {
    if (isAtlasError(error) && error.code === ErrorCodes.TOO_LARGE) throw new CliError(`${peer} sent a reply larger than ${maxBytes} bytes`);
    if ((error as Error).name === 'TimeoutError') throw timeout();
    throw new CliError(`${peer} broke off its reply: ${(error as Error).message}`, undefined, { cause: error });
  }
  try {
    const body = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return { status: response.status, body: body as Record<string, unknown> };
  } catch {
    throw new CliError(`${peer} sent a reply that is not a JSON object (HTTP ${response.status})`);
  }
}
