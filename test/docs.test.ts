/** The README's API reference names every value the package exports, so it cannot drift silently. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import * as legacy from '../src/legacy/index.js';
import * as testing from '../src/testing.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const reference = readme.slice(readme.indexOf('## API reference'), readme.indexOf('## Defaults and limits'));
const entryPoints: Record<string, object> = { atlasnet: api, 'atlasnet/legacy': legacy, 'atlasnet/testing': testing };
const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };

describe('README API reference', () => {
  it('exists and is not empty', () => {
    expect(reference.length).toBeGreaterThan(1_000);
  });

  for (const [entry, exports] of Object.entries(entryPoints)) {
    it(`names every runtime export of ${entry}`, () => {
      expect(Object.keys(exports).length).toBeGreaterThan(10);
      const missing = Object.keys(exports).filter((name) => !new RegExp(`\\b${name}\\b`).test(reference));
      expect(missing).toEqual([]);
      expect(reference).toContain(`\`${entry}\``);
    });
  }

  it('publishes each entry point, with its types', () => {
    for (const entry of Object.keys(entryPoints)) {
      const subpath = entry === 'atlasnet' ? '.' : `./${entry.slice('atlasnet/'.length)}`;
      expect(packageJson.exports[subpath], entry).toMatchObject({ types: expect.stringMatching(/\.d\.ts$/), default: expect.stringMatching(/\.js$/) });
    }
  });

  it('keeps test helpers and the legacy API out of the root export', () => {
    const root = new Set(Object.keys(api));
    expect(Object.keys(testing).filter((name) => root.has(name))).toEqual([]);
    expect(Object.keys(legacy).filter((name) => root.has(name))).toEqual([]);
  });

  it('shows both set-up commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
