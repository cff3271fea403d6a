/**
 * The layering of src/, checked from the code's own imports: no import circle between files, and
 * every folder imports only the folders below it (the table is the README's design section).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Each unit of src/ (a folder, or a file at the top) and the units it may import. */
const BASE = ['errors', 'runtime', 'address', 'peer-address', 'native-fallback', 'options-overlay'];
export const MAY_IMPORT: Record<string, readonly string[]> = {
  errors: [],
  'native-fallback': [],
  runtime: ['errors'],
  address: ['errors'],
  // the one peer-address parser: transport, protocol and peers all read `host:port` through it
  'peer-address': [],
  // flat limits and timeouts checked against their defaults (protocol, transport)
  'options-overlay': ['errors'],
  // bounded HTTP body reading: the peer transport and the Stacks observer both listen over HTTP
  'http-body': ['errors'],
  // a new file's name made durable: the Stacks observer's journal and the chunk log
  'durable-file': [],
  // a lock file one process holds at a time: the store's, and the dev chain's for one write
  'file-lock': ['errors'],
  // why a listen failed, alike for the peer transport and the Stacks observer
  'listen-error': ['errors'],
  // reading what a user typed and saying what was wrong, alike in the CLI and `atlas sim`
  'command-line': ['errors'],
  hash: [...BASE],
  inventory: [...BASE, 'hash'],
  chain: [...BASE, 'hash', 'http-body', 'durable-file', 'listen-error', 'file-lock'],
  store: [...BASE, 'hash', 'inventory', 'chain', 'durable-file', 'file-lock'],
  transport: [...BASE, 'hash', 'http-body', 'listen-error'],
  protocol: [...BASE, 'hash', 'inventory', 'chain', 'transport'],
  peers: [...BASE, 'hash', 'protocol', 'transport'],
  legacy: [...BASE, 'hash', 'inventory', 'chain', 'store', 'protocol', 'transport'],
  sync: [...BASE, 'hash', 'inventory', 'chain', 'store', 'protocol', 'transport', 'peers'],
  bns: [...BASE, 'hash', 'chain', 'store', 'protocol', 'transport'],
  node: [...BASE, 'hash', 'listen-error', 'inventory', 'chain', 'store', 'protocol', 'transport', 'peers', 'sync', 'bns'],
  testing: [...BASE, 'hash', 'inventory', 'chain', 'store', 'protocol', 'transport', 'peers', 'legacy', 'sync', 'bns', 'node', 'sim'],
  sim: [...BASE, 'command-line', 'hash', 'inventory', 'chain', 'store', 'protocol', 'transport', 'peers', 'legacy', 'sync', 'bns', 'node'],
  index: [...BASE, 'hash', 'inventory', 'chain', 'store', 'protocol', 'transport', 'peers', 'sync', 'bns', 'node'],
  cli: [...BASE, 'command-line', 'hash', 'http-body', 'listen-error', 'inventory', 'chain', 'store', 'protocol', 'transport', 'peers', 'legacy', 'sync', 'bns', 'node', 'sim', 'index', 'testing'],
};

/** Longest file without a header line "Longer than 450 lines: <why>". */
const MAX_LINES = 450;

interface SourceFile {
  readonly path: string;
  readonly imports: readonly string[];
}

function listSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listSources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

function readSource(path: string): SourceFile {
  const text = readFileSync(path, 'utf8');
  const imports = new Set<string>();
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const spec = match[1]!;
      if (!spec.startsWith('.')) continue;
      imports.add(resolve(dirname(path), spec).replace(/\.js$/, '.ts'));
    }
  }
  return { path, imports: [...imports] };
}

function unitOf(path: string): string {
  const parts = relative(SRC, path).split('/');
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!;
}

/** Tarjan's strongly connected components; every component of more than one file is a circle. */
function circles(files: readonly SourceFile[]): string[][] {
  const edges = new Map(files.map((f) => [f.path, f.imports.filter((i) => files.some((g) => g.path === i))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(relative(SRC, member));
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const file of files) if (!index.has(file.path)) visit(file.path);
  return found;
}

const files = listSources(SRC).map(readSource);

describe('architecture', () => {
  it('reads the whole of src/', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.some((f) => f.imports.length > 0)).toBe(true);
  });

  it('knows every unit of src/', () => {
    const unknown = [...new Set(files.map((f) => unitOf(f.path)))].filter((u) => !(u in MAY_IMPORT));
    expect(unknown).toEqual([]);
  });

  it('has no import circle between files', () => {
    expect(circles(files)).toEqual([]);
  });

  it('imports only downward between folders', () => {
    const upward = files.flatMap((file) => {
      const from = unitOf(file.path);
      return file.imports
        .filter((target) => target.startsWith(SRC))
        .map((target) => unitOf(target))
        .filter((to) => to !== from && !MAY_IMPORT[from]!.includes(to))
        .map((to) => `${relative(SRC, file.path)} -> ${to}`);
    });
    expect(upward).toEqual([]);
  });

  it('keeps files short unless their header says why', () => {
    const long = listSources(SRC).flatMap((path) => {
      const text = readFileSync(path, 'utf8');
      const header = /^\/\*\*[\s\S]*?\*\//.exec(text)?.[0] ?? '';
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      return lines > MAX_LINES && !header.includes(`Longer than ${MAX_LINES} lines:`) ? [`${relative(SRC, path)} (${lines})`] : [];
    });
    expect(long).toEqual([]);
  });

  it('keeps the legacy API and the simulator out of what `atlasnet` loads', () => {
    const byPath = new Map(files.map((f) => [f.path, f]));
    const loaded = new Set<string>();
    const visit = (path: string): void => {
      if (loaded.has(path) || !byPath.has(path)) return;
      loaded.add(path);
      for (const next of byPath.get(path)!.imports) visit(next);
    };
    visit(join(SRC, 'index.ts'));
    expect(loaded.size).toBeGreaterThan(50);
    expect([...loaded].map((p) => relative(SRC, p)).filter((p) => /^(legacy|sim|cli)\//.test(p) || p === 'testing.ts')).toEqual([]);
  });

  it('keeps its own table free of circles', () => {
    const placed = new Set<string>();
    const order: string[] = [];
    while (order.length < Object.keys(MAY_IMPORT).length) {
      const next = Object.entries(MAY_IMPORT).find(([unit, deps]) => !placed.has(unit) && deps.every((d) => placed.has(d)));
      expect(next, `no unit can be placed after ${order.join(', ')}`).toBeDefined();
      placed.add(next![0]);
      order.push(next![0]);
    }
  });

  it('finds a circle and an upward import when there is one', () => {
    const a = { path: join(SRC, 'x', 'a.ts'), imports: [join(SRC, 'x', 'b.ts')] };
    const b = { path: join(SRC, 'x', 'b.ts'), imports: [join(SRC, 'x', 'a.ts')] };
    expect(circles([a, b])).toEqual([['x/a.ts', 'x/b.ts']]);
    expect(MAY_IMPORT.store!.includes('node')).toBe(false);
  });
});
