/** The README's API reference names every value the package exports, so it cannot drift silently. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const reference = readme.slice(readme.indexOf('## API reference'), readme.indexOf('## Defaults and limits'));

describe('README API reference', () => {
  it('exists and is not empty', () => {
    expect(reference.length).toBeGreaterThan(1_000);
  });

  it('names every runtime export of atlasnet', () => {
    const missing = Object.keys(api).filter((name) => !new RegExp(`\\b${name}\\b`).test(reference));
    expect(missing).toEqual([]);
  });

  it('shows both set-up commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
