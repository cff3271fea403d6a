/** A bounded JSON GET to a running node's HTTP listener, for `atlas resolve` and `atlas missing`. */
import { CliError } from './errors.js';

/** Largest reply read (the missing list is capped at 1,000 items; a zone file at 40 KB). */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

export async function getNodeJson(peer: string, path: string, timeoutSeconds: number): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(`http://${peer}${path}`, { signal: AbortSignal.timeout(Math.round(timeoutSeconds * 1000)), redirect: 'error' });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? 'no answer in time' : String((error as Error).cause ?? (error as Error).message);
    throw new CliError(`cannot reach ${peer}: ${reason}`, undefined, { cause: error });
  }
  const text = await response.text();
  if (text.length > MAX_REPLY_BYTES) throw new CliError(`${peer} sent a reply larger than ${MAX_REPLY_BYTES} bytes`);
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return { status: response.status, body: body as Record<string, unknown> };
  } catch {
    throw new CliError(`${peer} sent a reply that is not a JSON object (HTTP ${response.status})`);
  }
}
