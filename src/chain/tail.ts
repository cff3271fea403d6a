/**
 * What a dev chain file may end with, past its last newline. A DevChain appends whole lines in
 * one write, so an interrupted write leaves the START of a line exactly as DevChain writes it:
 *
 *   {"position":<next position>,"address":"<40 hex>"[,"key":...][,"height":...][,"txid":...]}
 *
 * Only such a prefix is a torn line that may be cut. Anything else past the last newline (a
 * token, a 5 MB blob, a hand-written line in another layout) is somebody's data, never cut.
 */
import { isAtlasError } from '../errors.js';
import { checkAnnouncement } from './announcement.js';
import type { Announcement } from './types.js';

const ADDRESS_HEX = 40;

/** The announcement `tail` holds when it is one whole valid line at `position` without its newline. */
export function parseFinalLine(tail: Buffer, position: number, maxLineBytes: number): Announcement | undefined {
  if (tail.length > maxLineBytes) return undefined;
  try {
    return checkAnnouncement(JSON.parse(tail.toString('utf8')), position);
  } catch (error) {
    if (error instanceof SyntaxError || isAtlasError(error)) return undefined;
    throw error;
  }
}

/** Whether `tail` is the start of the line DevChain would write at `position`, cut short. */
export function isTornChainLine(tail: Buffer, position: number, maxLineBytes: number): boolean {
  if (tail.length === 0 || tail.length >= maxLineBytes) return false;
  const text = tail.toString('utf8');
  if (/[\u0000-\u001f]/.test(text)) return false;
  const head = `{"position":${position},"address":"`;
  if (text.length <= head.length) return head.startsWith(text);
  if (!text.startsWith(head)) return false;
  const rest = text.slice(head.length);
  if (!/^[0-9a-fA-F]*$/.test(rest.slice(0, ADDRESS_HEX))) return false;
  if (rest.length <= ADDRESS_HEX) return true;
  // Past the address: its closing quote, then the end of the object or more fields.
  const after = rest.slice(ADDRESS_HEX);
  return after === '"' || after.startsWith('"}') || after.startsWith('",');
}
