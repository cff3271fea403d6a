/**
 * Every error atlasnet raises is an AtlasError with a stable `code`: match on the code, never on
 * the message. This module is a leaf so that every layer (store, protocol, transport) can use it.
 */
export const ErrorCodes = {
  // admission of a chunk (SPEC §2)
  CHUNK_EMPTY: 'CHUNK_EMPTY',
  CHUNK_TOO_LARGE: 'CHUNK_TOO_LARGE',
  NOT_ANNOUNCED: 'NOT_ANNOUNCED',
  HASH_MISMATCH: 'HASH_MISMATCH',
  UNSOLICITED: 'UNSOLICITED',
  // inputs
  BAD_ADDRESS: 'BAD_ADDRESS',
  BAD_ANNOUNCEMENT: 'BAD_ANNOUNCEMENT',
  BAD_REQUEST: 'BAD_REQUEST',
  TOO_MANY: 'TOO_MANY',
  TOO_LARGE: 'TOO_LARGE',
  UNKNOWN_METHOD: 'UNKNOWN_METHOD',
  // talking to peers
  BAD_REPLY: 'BAD_REPLY',
  TIMEOUT: 'TIMEOUT',
  ABORTED: 'ABORTED',
  UNREACHABLE: 'UNREACHABLE',
  BUSY: 'BUSY',
  NETWORK_MISMATCH: 'NETWORK_MISMATCH',
  VERSION_MISMATCH: 'VERSION_MISMATCH',
  SEQUENCE_MISMATCH: 'SEQUENCE_MISMATCH',
  ADDRESS_REFUSED: 'ADDRESS_REFUSED',
  BLOCKED: 'BLOCKED',
  // the chain adapter
  /** The chain adapter failed a call (threw, or answered what no chain can: a length that is not a whole number, a read that is not a list); its error is the cause. */
  CHAIN_FAILED: 'CHAIN_FAILED',
  // lifecycle and internals
  /** The node (or one of its parts) is closing or closed; a closed node cannot be started again. */
  CLOSED: 'CLOSED',
  /** The action needs a running node: start() first. */
  NOT_STARTED: 'NOT_STARTED',
  /** start() was called on a node that is starting or running, or listen() on a transport already listening. */
  ALREADY_STARTED: 'ALREADY_STARTED',
  /** The listen address is taken by another process; start() may be retried. */
  ADDRESS_IN_USE: 'ADDRESS_IN_USE',
  /** An option is missing or wrong; the error's `option` names it. */
  INVALID_OPTION: 'INVALID_OPTION',
  /** The data directory cannot be created, read or written (permissions, a read-only or virtual file system). */
  STORE_PERMISSION: 'STORE_PERMISSION',
  /** The store's disk failed a write or a read: full, over a size limit, an I/O error (`details.errno` says which); nothing was acknowledged. */
  STORE_IO: 'STORE_IO',
  STORE_CORRUPT: 'STORE_CORRUPT',
  INTERNAL: 'INTERNAL',
} as const;

/** One of the stable error codes in `ErrorCodes`. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The error atlasnet throws: `code` is one of `ErrorCodes` and stays stable across versions. */
export class AtlasError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AtlasError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** The ABORTED error of `what` (e.g. "call"), caused by its signal's reason when there is one. */
export function abortedError(what: string, signal?: AbortSignal): AtlasError {
  return new AtlasError(ErrorCodes.ABORTED, `${what} aborted`, undefined, signal === undefined ? undefined : { cause: signal.reason });
}

/**
 * A missing or wrong option; `option` is its name as written in the options object (e.g.
 * 'timers.roundMs'). `cause`: the system error that showed it (a path that cannot be used), whose
 * errno goes in `details` too.
 */
export class InvalidOptionError extends AtlasError {
  readonly option: string;

  constructor(option: string, message: string, cause?: unknown) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(ErrorCodes.INVALID_OPTION, `option ${option}: ${message}`, errno === undefined ? { option } : { option, errno }, cause === undefined ? undefined : { cause });
    this.option = option;
  }
}

/** True when `value` is an `AtlasError`, with the given `code` when one is given. */
export function isAtlasError(value: unknown, code?: ErrorCode): value is AtlasError {
  return value instanceof AtlasError && (code === undefined || value.code === code);
}

const knownCodes = new Set<string>(Object.values(ErrorCodes));

/** The longest pause a peer's BUSY may ask for that is taken as said (an hour); longer reads as this. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The pause a BUSY refusal asks for, as sent on the wire (`retryAfterMs`, whole milliseconds,
 * at most MAX_RETRY_AFTER_MS), or undefined when it names none or names nonsense.
 */
export function retryAfterOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.min(Math.ceil(value), MAX_RETRY_AFTER_MS) : undefined;
}

/** C0 and C1 control characters and DEL: what a remote party sends must not drive a terminal. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'g');

export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

/** `text` with each control character replaced by '?', but those in `keep` (e.g. '\t\n\r'). */
export function replaceControlCharacters(text: string, keep = ''): string {
  return text.replace(CONTROL_CHARACTERS, (c) => (keep.includes(c) ? c : '?'));
}

/**
 * Rebuilds an error received from a peer; unknown codes become BAD_REPLY so a peer cannot invent
 * codes. A BUSY keeps the pause it asks for (details.retryAfterMs), nothing else crosses; the
 * message is cut to 500 characters, its control characters each replaced by '?'.
 */
export function errorFromWire(value: unknown): AtlasError {
  if (typeof value === 'object' && value !== null) {
    const { code, message, retryAfterMs } = value as { code?: unknown; message?: unknown; retryAfterMs?: unknown };
    // A peer's words reach logs and terminals: no control characters (escape sequences) cross.
    const text = typeof message === 'string' ? replaceControlCharacters(message.slice(0, 500)) : 'remote error';
    if (typeof code === 'string' && knownCodes.has(code)) {
      const pause = code === ErrorCodes.BUSY ? retryAfterOf(retryAfterMs) : undefined;
      return new AtlasError(code as ErrorCode, text, pause === undefined ? undefined : { retryAfterMs: pause });
    }
  }
  return new AtlasError(ErrorCodes.BAD_REPLY, 'peer sent a malformed error');
}
