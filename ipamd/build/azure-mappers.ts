/**
 * @module azure mappers cut (daemon bundle build)
 * `@azure/arm-network`'s serializer is built from its whole models/mappers.js (`createSerializer(Mappers)`:
 * 901 mapper objects, 1 MB of source, about 2.8 MiB of heap once loaded), so esbuild cannot drop any.
 * The daemon keeps three operation groups (bundle.ts, AZURE_NETWORK_OPERATION_GROUPS); this plugin keeps
 * the mappers those groups reach and drops the rest.
 *
 * The serializer finds a model's mapper by `className` in that namespace, so the kept set is a closure:
 * - roots: every `Mappers.X` in a kept group's file, and the mapper of every `Parameters.p` it uses;
 * - then, from each kept mapper: every `className: "Y"` it names (properties, array elements, dictionary
 *   values), every mapper whose properties it spreads (`...Resource.type.modelProperties`), and for a
 *   polymorphic base every subtype in `discriminators` (looked up by "Base.value" when deserializing).
 * A name missing from the closure would make the serializer throw "mapper() cannot be null or undefined"
 * on that model at once, not mis-read it; the bundle test runs every kept call against the emulator.
 * The client's own operations (not in any group) keep their `Mappers.X` references, which become
 * undefined; those operations are never called (arm-client.ts uses the three groups only).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as esbuild from 'esbuild';

const MODELS = /@azure[\\/]arm-network[\\/]dist[\\/]esm[\\/]models[\\/](mappers|parameters)\.js$/;

/** `export const NAME = …` blocks of a generated module, by name (the text after `=`, up to the next export). */
function exportBlocks(src: string): { head: string; blocks: Map<string, string> } {
  const parts = src.split(/^export const (\w+) = /m);
  const blocks = new Map<string, string>();
  for (let i = 1; i < parts.length; i += 2) blocks.set(parts[i]!, parts[i + 1]!);
  return { head: parts[0]!, blocks };
}

/** The mapper names the kept operation groups start from (see the module comment). */
function roots(esmDir: string, groups: readonly string[]): Set<string> {
  const params = exportBlocks(fs.readFileSync(path.join(esmDir, 'models/parameters.js'), 'utf8'));
  // parameters.js imports `NetworkInterface as NetworkInterfaceMapper`.
  const alias = new Map<string, string>();
  for (const m of params.head.matchAll(/(\w+) as (\w+)/g)) alias.set(m[2]!, m[1]!);
  const out = new Set<string>();
  for (const g of groups) {
    const src = fs.readFileSync(path.join(esmDir, `operations/${g}.js`), 'utf8');
    for (const m of src.matchAll(/\bMappers\.(\w+)/g)) out.add(m[1]!);
    for (const m of src.matchAll(/\bParameters\.(\w+)/g)) {
      const block = params.blocks.get(m[1]!);
      if (block === undefined) throw new Error(`arm-network: ${g} uses Parameters.${m[1]}, not in parameters.js`);
      for (const r of block.matchAll(/\bmapper: (\w+)/g)) out.add(alias.get(r[1]!) ?? r[1]!);
    }
  }
  return out;
}

/** mappers.js without the mappers the kept groups cannot reach, and the names it keeps. */
export function pruneMappers(src: string, start: Iterable<string>): { contents: string; kept: Set<string> } {
  const { head, blocks } = exportBlocks(src);
  const disc = blocks.get('discriminators') ?? '';
  blocks.delete('discriminators');
  const byClass = new Map<string, string>();
  for (const [name, b] of blocks) {
    const c = /className: "(\w+)"/.exec(b);
    if (c) byClass.set(c[1]!, name);
  }
  const subtypes = [...disc.matchAll(/^\s*"?([\w.]+)"?: (\w+),$/gm)].map((m) => ({ key: m[1]!, value: m[2]! }));
  const kept = new Set<string>();
  const todo = [...start];
  while (todo.length) {
    const n = todo.pop()!;
    const b = blocks.get(n);
    if (kept.has(n) || b === undefined) continue;
    kept.add(n);
    for (const m of b.matchAll(/className: "(\w+)"/g)) todo.push(byClass.get(m[1]!) ?? m[1]!);
    for (const m of b.matchAll(/\b(\w+)\.type\.modelProperties/g)) todo.push(m[1]!);
    for (const s of subtypes) if (kept.has(s.key.split('.')[0]!)) todo.push(s.value);
  }
  // Declaration order is kept: a spread reads the mapper it spreads at module evaluation.
  const body = [...blocks].filter(([n]) => kept.has(n)).map(([n, b]) => `export const ${n} = ${b}`);
  const keptDisc = subtypes.filter((s) => kept.has(s.value)).map((s) => `  ${JSON.stringify(s.key)}: ${s.value},`);
  const tail = `export const discriminators = {\n${keptDisc.join('\n')}\n};\n`;
  return { contents: [head, ...body, tail].join(''), kept };
}

/**
 * parameters.js imports its mappers by name, so a dropped mapper would fail the build: keep the imports of
 * kept mappers and the parameters that use only those (every parameter a kept group uses is one of them).
 */
export function pruneParameters(src: string, kept: ReadonlySet<string>): string {
  const { head, blocks } = exportBlocks(src);
  const dropped = new Set<string>();
  const imports = head.replace(/import \{([^}]*)\} from "([^"]*mappers\.js)";/, (_all, list: string, from: string) => {
    const specs = list
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    const keep = specs.filter((sp) => {
      const [name, as] = sp.split(/\s+as\s+/);
      if (kept.has(name!)) return true;
      dropped.add(as ?? name!);
      return false;
    });
    return `import { ${keep.join(', ')} } from "${from}";`;
  });
  const uses = (b: string) => [...b.matchAll(/\bmapper: (\w+)/g)].some((m) => dropped.has(m[1]!));
  const body = [...blocks].filter(([, b]) => !uses(b)).map(([n, b]) => `export const ${n} = ${b}`);
  return [imports, ...body].join('');
}

export function azureMappersPlugin(groups: readonly string[]): esbuild.Plugin {
  return {
    name: 'vpc-ipam-azure-mappers',
    setup(b) {
      // Both files need the closure; it is computed once per build, from whichever loads first.
      let cut: { mappers: string; kept: Set<string> } | undefined;
      const closure = (esmDir: string) => {
        const src = fs.readFileSync(path.join(esmDir, 'models/mappers.js'), 'utf8');
        const { contents, kept } = pruneMappers(src, roots(esmDir, groups));
        return (cut ??= { mappers: contents, kept });
      };
      b.onLoad({ filter: MODELS }, (a) => {
        const c = closure(path.dirname(path.dirname(a.path)));
        const contents = a.path.endsWith('mappers.js')
          ? c.mappers
          : pruneParameters(fs.readFileSync(a.path, 'utf8'), c.kept);
        return { contents, loader: 'js' };
      });
    },
  };
}
