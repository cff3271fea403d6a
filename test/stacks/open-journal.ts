/** The observer journal opened as the tests read it: the journal, and the blocks it held, in order. */
import type { ObservedBlock } from '../../src/chain/stacks/payloads.js';
import { ObserverJournal } from '../../src/chain/stacks/journal.js';
import { silentLogger } from '../../src/runtime.js';

/** The observer's default bound on one attachment. */
export const MAX_ATTACHMENT = 40_960;

export function openJournal(dir: string): { journal: ObserverJournal; blocks: ObservedBlock[] } {
  const blocks: ObservedBlock[] = [];
  const journal = ObserverJournal.open(dir, silentLogger, MAX_ATTACHMENT, (block) => blocks.push(block));
  return { journal, blocks };
}
