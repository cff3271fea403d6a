/**
 * The original API's JSON documents. Every XML-RPC reply is one string holding JSON:
 * - success: `{status: true, indexing, lastblock, ...fields}`;
 * - refusal: `{error: "<message>", http_status: <code>}` (the shape the original clients check).
 *
 * Fields we derive because atlasnet has no block index of its own:
 * - `indexing` is always false: the node serves its sequence as it stands, it never pauses to index;
 * - `lastblock` is the sequence length (announcements known), a number that grows with the chain
 *   like the original's block height. The original clients only check that it is an integer >= 0.
 */
import { isAtlasError } from '../errors.js';
import { httpStatusFor } from '../transport/http-io.js';

/** One of the original API's JSON documents (an envelope's fields), as a legacy method answers it. */
export type LegacyDocument = Record<string, unknown>;

export type LegacyRefusal = {
  error: string;
  http_status: number;
};

export function success(lastblock: number, fields: LegacyDocument): LegacyDocument {
  return { status: true, indexing: false, lastblock, ...fields };
}

export function refusal(error: string, httpStatus = 400): LegacyRefusal {
  return { error, http_status: httpStatus };
}

/** The transport's status for an error code, for `http_status`. */
export const httpStatusOf = httpStatusFor;

/** A refusal for an error the node raised; internal failures never leak their message. */
export function refusalFor(error: unknown): LegacyRefusal {
  const status = httpStatusOf(error);
  if (!isAtlasError(error) || status === 500) return refusal('internal error', 500);
  return refusal(error.message, status);
}
