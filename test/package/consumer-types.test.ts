// The published declarations as a user's TypeScript sees them: strict, and without skipLibCheck
// (the compiler's default), so every declaration file the user's program reaches is checked,
// ours and whatever they import. A consumer program using the three entries ('atlasnet',
// 'atlasnet/legacy', 'atlasnet/testing') must compile with no diagnostic, and reach no
// declaration file of our runtime dependencies (lmdb-js's fail that check, TS1203: our types
// spell out the little of it they need). The declarations are emitted from src/ into a temporary
// copy of the package (package.json, node_modules linked), so the test neither needs nor
// trusts the checkout's own dist/.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkgJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
/** Packages a user installs with atlasnet: none of their declarations may be reached. */
const RUNTIME_DEPENDENCIES = [...Object.keys(pkgJson.dependencies ?? {}), ...Object.keys(pkgJson.optionalDependencies ?? {}), ...Object.keys(pkgJson.peerDependencies ?? {})];

/** What a user writes: the node, its options and events, the chain and transport interfaces implemented, the other two entries. */
const CONSUMER = `
import {
  AtlasNode,
  LmdbChunkStore,
  MemoryChunkStore,
  MemoryChain,
  HttpTransport,
  InvalidOptionError,
  isAtlasError,
  UNKNOWN_CALLER,
  type Announcement,
  type AtlasNodeEvents,
  type AtlasNodeOptions,
  type CallOptions,
  type ChainAdapter,
  type ChainListener,
  type ChunkStorage,
  type LiveNodeState,
  type LmdbChunkStoreOptions,
  type NodeStats,
  type Transport,
  type TransportService,
} from 'atlasnet';
import { legacyRoutes, type LegacyOptions } from 'atlasnet/legacy';
import { MemoryNetwork, Simulation, VirtualClock } from 'atlasnet/testing';

class FixedChain implements ChainAdapter {
  readonly #announcements: Announcement[] = [];
  async length(): Promise<number> { return this.#announcements.length; }
  async read(from: number, limit: number): Promise<Announcement[]> { return this.#announcements.slice(from, from + limit); }
  subscribe(listener: ChainListener): () => void { void listener; return () => {}; }
}

class Loopback implements Transport {
  address: string | undefined;
  #service: TransportService | undefined;
  async listen(service: TransportService): Promise<string> { this.#service = service; return (this.address = 'loop:1'); }
  async call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown> {
    if (this.#service === undefined) throw new Error('not listening');
    return this.#service.handle(method, params, { caller: UNKNOWN_CALLER, remote: peer, ...(options?.signal ? { signal: options.signal } : {}) });
  }
  async close(): Promise<void> {}
}

const storage: ChunkStorage = 'log';
const storeOptions: LmdbChunkStoreOptions = { path: '/tmp/atlas', chunkStorage: storage, mapSize: 2 ** 30 };
const legacy: LegacyOptions = {};
const onChunk = (event: AtlasNodeEvents['chunk']): void => void event.address;

export async function main(): Promise<NodeStats> {
  const network = new MemoryNetwork();
  const options: AtlasNodeOptions = { chain: new MemoryChain(), transport: network.transport('a'), dataDir: '/tmp/atlas', chunkStorage: storage, timers: { roundMs: 500 } };
  const node = await AtlasNode.open(options);
  node.on('chunk', onChunk);
  node.on('progress', (p) => console.log(p.have, p.total));
  node.on('error', (error) => { if (isAtlasError(error)) console.log(error.code); });
  const store = await LmdbChunkStore.open(storeOptions);
  const chunkLayout: ChunkStorage = store.chunkStorage;
  await store.close();
  const other = await AtlasNode.open({ chain: new FixedChain(), transport: new Loopback(), store: new MemoryChunkStore() });
  await other.close();
  const http = new HttpTransport({ routes: legacyRoutes(legacy) });
  await http.close();
  void [chunkLayout, Simulation, new VirtualClock(), new InvalidOptionError('x', 'y')];
  const stats = node.stats();
  // stats() refuses once close() has begun, so its state is never 'closing' or 'closed'.
  const live: LiveNodeState = stats.state;
  switch (live) {
    case 'open': case 'starting': case 'running': break;
    default: { const unreachable: never = live; void unreachable; }
  }
  await node.close();
  return stats;
}
`;

/** The consumer's compiler options: strict, ESM under NodeNext, and every declaration file checked. */
const CONSUMER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ['node'],
  strict: true,
  skipLibCheck: false,
  noEmit: true,
};

const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'atlas-consumer-types-')));
const pkg = join(scratch, 'atlasnet');
const consumer = join(scratch, 'consumer');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(() => {
  mkdirSync(pkg);
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (config === undefined) throw new Error('cannot read tsconfig.build.json');
  const build = ts.createProgram(config.fileNames, { ...config.options, outDir: join(pkg, 'dist'), declaration: true, emitDeclarationOnly: true, sourceMap: false, noEmit: false });
  build.emit();
  // Type errors in src/ still emit declarations; only missing ones are fatal here (typecheck is its own step).
  for (const entry of ['index.d.ts', join('legacy', 'index.d.ts'), 'testing.d.ts']) {
    if (!existsSync(join(pkg, 'dist', entry))) throw new Error(`the declaration build did not produce dist/${entry}`);
  }
  mkdirSync(join(consumer, 'node_modules', '@types'), { recursive: true });
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(consumer, 'consumer.ts'), CONSUMER);
  symlinkSync(pkg, join(consumer, 'node_modules', 'atlasnet'), 'dir');
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(consumer, 'node_modules', '@types', 'node'), 'dir');
}, 120_000);

/** One diagnostic as a line: where (relative to the scratch folder or this checkout), code, message. */
function describeDiagnostic(diagnostic: ts.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
  if (diagnostic.file === undefined) return `TS${diagnostic.code}: ${message}`;
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  const file = diagnostic.file.fileName.startsWith(root) ? relative(root, diagnostic.file.fileName) : relative(scratch, diagnostic.file.fileName);
  return `${file}(${line + 1}): TS${diagnostic.code}: ${message}`;
}

describe('published declarations', () => {
  it('compile in a strict consumer without skipLibCheck, reaching no dependency declarations', { timeout: 120_000 }, () => {
    const program = ts.createProgram([join(consumer, 'consumer.ts')], CONSUMER_OPTIONS);
    const files = program.getSourceFiles().map((file) => file.fileName);
    // The consumer really reached our declarations, through the package's exports map.
    for (const entry of ['index.d.ts', 'legacy/index.d.ts', 'testing.d.ts']) expect(files, entry).toContain(`${pkg}/dist/${entry}`.split('/').join(sep));
    expect(ts.getPreEmitDiagnostics(program).map(describeDiagnostic)).toEqual([]);
    const reached = RUNTIME_DEPENDENCIES.filter((dependency) => files.some((file) => file.includes(`${sep}node_modules${sep}${dependency}${sep}`)));
    expect(reached).toEqual([]);
  });
});
