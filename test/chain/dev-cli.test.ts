/** The CLI paths that open a chain file (`atlas announce -c`, `atlas node -c`) never clobber one that is not a chain. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAtlas } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'atlasnet-devchain-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atlas commands on a file that is not a chain', () => {
  it('announce and node refuse it with an error and leave every byte in place', async () => {
    const ok = join(dir, 'ok.txt');
    writeFileSync(ok, 'a zone file\n');
    const cases = { token: 'ghp_not-a-chain-token', big: 'y'.repeat(5 * 1024 * 1024) };
    for (const [name, content] of Object.entries(cases)) {
      const chain = join(dir, `${name}.txt`);
      writeFileSync(chain, content);
      const announced = await runAtlas(['announce', ok, '-c', chain]);
      expect(announced.code).not.toBe(0);
      expect(announced.stderr).toMatch(/not a dev chain file/);
      const node = await runAtlas(['node', '-c', chain, '--data-dir', join(dir, `${name}-data`), '--listen', '127.0.0.1:0'], { timeoutMs: 20_000 });
      expect(node.code).not.toBe(0);
      expect(node.stderr).toMatch(/not a dev chain file/);
      expect(readFileSync(chain, 'utf8')).toBe(content);
    }
  }, 60_000);
});
