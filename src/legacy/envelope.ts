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
import { isAtlasError, type ErrorCode } from '../errors.js';

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

/**
 * HTTP status of each error code, for `http_status`. Kept here (not imported from the transport)
 * so the legacy layer does not depend on the module that mounts it; the values match
 * HTTP_STATUS_BY_CODE in transport/http.ts for the codes a node's service can raise.
 */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  BAD_ADDRESS: 400,
  BAD_ANNOUNCEMENT: 400,
  TOO_MANY: 400,
  TOO_LARGE: 413,
  CHUNK_TOO_LARGE: 413,
  CHUNK_EMPTY: 422,
  NOT_ANNOUNCED: 422,
  HASH_MISMATCH: 422,
  UNSOLICITED: 422,
  BLOCKED: 403,
  UNKNOWN_METHOD: 404,
  BUSY: 503,
  CLOSED: 503,
  NOT_STARTED: 503,
  ABORTED: 503,
  TIMEOUT: 504,
  UNREACHABLE: 502,
  BAD_REPLY: 502,
};

export function httpStatusOf(error: unknown): number {
  return isAtlasError(error) ? (STATUS_BY_CODE[error.code] ?? 500) : 500;
}

/** A refusal for an error the node raised; internal failures never leak their message. */
export function refusalFor(error: unknown): LegacyRefusal {
  const status = httpStatusOf(error);
  if (!isAtlasError(error) || status === 500) return refusal('internal error', 500);
  return refusal(error.message, status);
}
