// Every name atlasnet exports carries a doc comment, so the generated API reference (`npm run
// docs`, typedoc) describes each one. Read with the TypeScript compiler, as typedoc does.
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

describe('API reference', () => {
  it('every export of src/index.ts has a doc comment', { timeout: 120_000 }, () => {
    const entry = join(root, 'src', 'index.ts');
    const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true });
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile) as ts.Symbol;
    const exported = checker.getExportsOfModule(moduleSymbol);
    expect(exported.length).toBeGreaterThan(100);
    const undocumented = exported
      .filter((symbol) => {
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        return target.getDocumentationComment(checker).length === 0;
      })
      .map((symbol) => symbol.name);
    expect(undocumented).toEqual([]);
  });
});
