/**
 * The real corpus of SPEC §9, when ../shared/data is beside the checkout. Tests that need it use
 * `describe.skipIf(!corpus.available)` and say why they skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data', 'bns-genesis-zonefiles.txt');

export interface CorpusEntry {
  address: string;
  data: Uint8Array;
}

export function loadCorpus(path = CORPUS_PATH): CorpusEntry[] | undefined {
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split('\n');
  const entries: CorpusEntry[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const address = (lines[i] ?? '').trim();
    if (address.length === 0) continue;
    entries.push({ address, data: Buffer.from((lines[i + 1] ?? '').replace(/\\n/g, '\n'), 'utf8') });
  }
  return entries;
}

export const corpus = loadCorpus();
export const CORPUS_SKIP_MESSAGE = `real data absent (${CORPUS_PATH}); skipping tests that need ../shared/data`;
if (!corpus) console.warn(CORPUS_SKIP_MESSAGE);
