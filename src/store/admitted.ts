/**
 * Lists of admitted chunks on their way to one write: copied out of the caller's memory, and the
 * puts queued behind one write joined into one list (chunk-store.ts, group commit).
 */
import type { AdmissionResult } from './admission.js';

/** The admitted chunks with their bytes copied into one buffer (Buffer views), so callers may reuse theirs. */
export function copyAdmitted(results: AdmissionResult[]): AdmissionResult[] {
  let total = 0;
  for (const result of results) if (result.ok) total += result.data.length;
  const slab = Buffer.allocUnsafe(total);
  let offset = 0;
  return results.map((result) => {
    if (!result.ok) return result;
    slab.set(result.data, offset);
    const data = slab.subarray(offset, offset + result.data.length);
    offset += result.data.length;
    return { ok: true, address: result.address, data, position: result.position, key: result.key };
  });
}

/** The lists end to end: the one list itself when there is one (flatMap took about 100 ns a chunk of a catch-up). */
export function joined<T>(lists: readonly T[][]): T[] {
  if (lists.length === 1) return lists[0] as T[];
  let length = 0;
  for (const list of lists) length += list.length;
  const out = new Array<T>(length);
  let at = 0;
  for (const list of lists) for (let i = 0; i < list.length; i++) out[at++] = list[i] as T;
  return out;
}
