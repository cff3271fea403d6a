/**
 * The CLI's chain: a DevChain file. A running `atlas node` re-reads the file periodically so that
 * `atlas announce` from another process reaches it (DevChain.refresh reads appended lines and
 * notices a rollback's rewrite).
 */
import { DevChain } from '../chain/dev.js';
import type { Logger } from '../runtime.js';
import { CliError, describeError } from './errors.js';

export interface AnnounceItem {
  address: string;
  key?: string;
}

export async function openDevChain(path: string, logger?: Logger): Promise<DevChain> {
  try {
    return await DevChain.open(path, logger ? { logger } : {});
  } catch (error) {
    throw new CliError(`cannot open the chain file ${path}: ${describeError(error)}`, undefined, { cause: error });
  }
}

/** Appends the items in order; returns their positions. */
export async function announceAll(chain: DevChain, items: readonly AnnounceItem[]): Promise<number[]> {
  const added = await chain.announce(items.map((item) => (item.key === undefined ? item.address : { address: item.address, key: item.key })));
  return added.map((a) => a.position);
}

/**
 * Calls chain.refresh() every `intervalMs` until the returned stop function is called; a failed
 * refresh (a corrupt line written by hand) is logged, not fatal: the node keeps what it has.
 */
export function followFile(chain: DevChain, intervalMs: number, logger: Logger): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastError = '';
  const tick = async () => {
    try {
      const read = await chain.refresh();
      if (read > 0) logger.info('chain file grew', { announcements: read, path: chain.path });
      lastError = '';
    } catch (error) {
      const message = describeError(error);
      if (message !== lastError) logger.warn('cannot read the chain file', { path: chain.path, error: message });
      lastError = message;
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  timer = setTimeout(() => void tick(), intervalMs);
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}
