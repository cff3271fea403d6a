/**
 * The README's code is part of the suite: every ```ts block marked `<!-- doc-test: run -->` runs
 * (with tsx, in a child process) and must succeed; every marked block, and every option or
 * defaults name the README cites, must compile under the project's strict TypeScript settings
 * against the package's own exports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Block {
  mode: 'run' | 'typecheck';
  code: string;
  line: number;
}

function markedBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const pattern = /<!-- doc-test: (run|typecheck) -->\s*\n```ts\n([\s\S]*?)\n```/g;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    blocks.push({ mode: match[1] as Block['mode'], code: match[2] as string, line: text.slice(0, match.index).split('\n').length });
  }
  return blocks;
}

/** The block as a module of this checkout: `from 'atlasnet'` (and its subpaths) become the sources' entry points. */
function asModule(code: string): string {
  return code
    .replace(/from 'atlasnet'/g, "from '../src/index.js'")
    .replace(/from 'atlasnet\/legacy'/g, "from '../src/legacy/index.js'")
    .replace(/from 'atlasnet\/testing'/g, "from '../src/testing.js'");
}

/** Every name of the three entry points (atlasnet, atlasnet/legacy, atlasnet/testing), in one module. */
const ALL_ENTRY_POINTS = ["export * from '../src/index.js';", "export * from '../src/legacy/index.js';", "export * from '../src/testing.js';"].join('\n');

/** A module importing every options/defaults name the README cites: it compiles only if an entry point exports each. */
function citedNames(text: string): string {
  const names = [...new Set([...text.matchAll(/`(DEFAULT_[A-Z_]+|[A-Z][A-Za-z]+(?:Options|Limits|Stats|Events|Event|Result))`/g)].map((m) => m[1] as string))];
  const values = names.filter((n) => n.startsWith('DEFAULT_'));
  const types = names.filter((n) => !n.startsWith('DEFAULT_'));
  return [
    `import { ${values.join(', ')} } from './entry-points.js';`,
    `import type { ${types.join(', ')} } from './entry-points.js';`,
    `export const cited = [${values.join(', ')}];`,
    `export type Cited = [${types.join(', ')}];`,
  ].join('\n');
}

const work = mkdtempSync(join(ROOT, '.docs-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const blocks = markedBlocks(readme);

describe('README code', () => {
  it('has the two-node quick start and the chain adapter skeleton, both marked for testing', () => {
    expect(blocks.filter((b) => b.mode === 'run')).toHaveLength(1);
    expect(blocks.find((b) => b.mode === 'run')?.code).toMatch(/whenSynced/);
    expect(blocks.find((b) => b.code.includes('class MyChain'))?.mode).toBe('typecheck');
  });

  it('compiles under strict TypeScript, and every options/defaults name it cites is exported', () => {
    const files = blocks.map((block, i) => {
      const file = join(work, `block-${i}-line-${block.line}.ts`);
      writeFileSync(file, `${asModule(block.code)}\nexport {};\n`);
      return file;
    });
    writeFileSync(join(work, 'entry-points.ts'), ALL_ENTRY_POINTS);
    const names = join(work, 'cited-names.ts');
    writeFileSync(names, citedNames(readme));
    const flags = ['--noEmit', '--strict', '--noUncheckedIndexedAccess', '--target', 'ES2022', '--lib', 'ES2023', '--module', 'NodeNext', '--moduleResolution', 'NodeNext'];
    const more = ['--types', 'node', '--skipLibCheck', '--isolatedModules', '--verbatimModuleSyntax', '--esModuleInterop'];
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), ...flags, ...more, ...files, names], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);

  it('ships the examples it points at', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    for (const [, folder] of readme.matchAll(/`(examples)\/[\w.-]+\.ts`/g)) expect(manifest.files).toContain(folder);
    expect(readme).toMatch(/`examples\/embed\.ts`/);
  });

  it('the quick start runs: two nodes replicate a chunk, hashing natively or on WebAssembly', () => {
    const block = blocks.find((b) => b.mode === 'run') as Block;
    const file = join(work, 'quick-start.ts');
    writeFileSync(file, asModule(block.code));
    for (const hash of ['', 'wasm']) {
      const env = hash === '' ? process.env : { ...process.env, ATLAS_HASH: hash };
      const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env });
      expect(run.stderr, hash).toBe('');
      expect(run.status, hash).toBe(0);
      expect(run.stdout).toContain('[ true ]');
      expect(run.stdout).toMatch(/b admitted 127\.0\.0\.1:\d+/);
      expect(run.stdout).toContain('b holds 1/1, 0 to fetch');
      expect(run.stdout).toContain('$ORIGIN example.id');
    }
  }, 120_000);
});
