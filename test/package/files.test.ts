// What the package promises a user: the protocol document the README links to, every local file
// the README shows shipped in the tarball, a licence, a changelog, and no source maps.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const protocol = readFileSync(join(root, 'docs', 'PROTOCOL.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[]; scripts: Record<string, string>; optionalDependencies?: Record<string, string> };

/** Local link and image targets in a markdown text (no URLs, no in-page anchors). */
function localTargets(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string).filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#'));
}

describe('package contents', () => {
  it('the README cites the protocol through docs/PROTOCOL.md, and every anchor it links exists', () => {
    expect(readme).not.toMatch(/SPEC §/);
    const anchors = new Set([...protocol.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]));
    const linked = [...readme.matchAll(/docs\/PROTOCOL\.md#([\w-]+)/g)].map((m) => m[1]);
    expect(linked.length).toBeGreaterThanOrEqual(14);
    expect(linked.filter((anchor) => !anchors.has(anchor))).toEqual([]);
    const inPage = [...protocol.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => m[1]);
    expect(inPage.filter((anchor) => !anchors.has(anchor))).toEqual([]);
  });

  it('every local file the README links or shows exists and is in package.json files', () => {
    const targets = localTargets(readme).map((t) => t.split('#')[0] as string);
    expect(targets).toContain('docs/PROTOCOL.md');
    for (const target of new Set(targets)) {
      expect(existsSync(join(root, target)), target).toBe(true);
      expect(pkg.files.some((entry) => target === entry || target.startsWith(`${entry}/`)), `${target} is not shipped`).toBe(true);
    }
  });

  it('ships a licence and a changelog, no source maps, and roaring only as an optional dependency', () => {
    for (const file of ['LICENSE', 'CHANGELOG.md']) {
      expect(existsSync(join(root, file))).toBe(true);
      expect(pkg.files).toContain(file);
    }
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toContain('Copyright (c) 2026 atlasnet contributors');
    expect(pkg.scripts.build).toContain('--sourceMap false');
    expect(pkg.optionalDependencies?.roaring).toBeDefined();
  });
});
