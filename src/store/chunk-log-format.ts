/**
 * The chunk log's file format (chunk-log.ts reads and writes it, chunk-log-scan.ts recovers it):
 *
 *   file    = header record*
 *   header  = "atlasnet-chunks" 0x01                        (16 bytes)
 *   record  = length (uint32 LE, >= 1) address (20 bytes) data (length bytes)
 */
import { ADDRESS_BYTES } from '../address.js';

export const CHUNK_LOG_FILE = 'chunks.log';
export const LOG_HEADER = Buffer.from('atlasnet-chunks\x01', 'latin1');
/** Where a record's address starts in it (after its length). */
export const RECORD_ADDRESS_AT = 4;
/** The bytes before a record's data: its length and its address. */
export const RECORD_HEADER = RECORD_ADDRESS_AT + ADDRESS_BYTES;
/**
 * The largest record the log holds (its data): a longer length field is damage. Chunks are 40 KiB
 * by default; a store whose maxChunkSize is above this cannot keep its chunks in a log.
 */
export const MAX_RECORD_DATA = 64 * 1024 * 1024;
