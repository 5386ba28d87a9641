/**
 * The README and docs/ cite only what a reader can open: every relative link
 * and every repository path in inline code exists, and no page cites a
 * `*.md` note that is not in the repository (internal research notes were
 * cited before: aws-vpc-cni.md, cloud-apis.md, node-stack.md). Code blocks
 * are examples, not citations, and are skipped. And the CLI table in the
 * README lists exactly the verbs `vpc-ipamctl help` prints.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';

const DOCS = readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md'));
const PAGES = ['README.md', ...DOCS.map((f) => `docs/${f}`)];

function prose(page: string): string {
  return readFileSync(path.join(REPO, page), 'utf8').replace(/```[\s\S]*?```/g, '');
}

describe.each(PAGES)('%s', (page) => {
  const text = prose(page);
  const dir = path.dirname(path.join(REPO, page));

  it('links only to files that exist', () => {
    const missing = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!.split('#')[0]!)
      .filter((t) => t && !/^[a-z]+:/.test(t) && !existsSync(path.join(dir, t)));
    expect(missing).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    const missing = [...text.matchAll(/`((?:ipamd|providers|cni|test|deploy|docs|\.ci)\/[\w./-]*[\w/])`/g)]
      .map((m) => m[1]!)
      .filter((t) => !existsSync(path.join(REPO, t)) && !existsSync(path.join(REPO, t.replace(/\.js$/, '.ts'))));
    expect(missing).toEqual([]);
  });

  it('cites no note that is not in the repository', () => {
    const withoutUrls = text.replace(/\[[^\]]*\]\(https?:\/\/[^)]*\)/g, '');
    const missing = [...withoutUrls.matchAll(/(?<![\w/.-])([\w-]+\.md)\b/g)]
      .map((m) => m[1]!)
      .filter((t) => !existsSync(path.join(REPO, 'docs', t)) && !existsSync(path.join(REPO, t)));
    expect(missing).toEqual([]);
  });
});

describe('README operator CLI table', () => {
  it('lists the verbs vpc-ipamctl has', () => {
    const ctl = path.join(REPO, 'dist/ipamd/ctl/main.js');
    const help = execFileSync(process.execPath, [ctl, 'help'], { encoding: 'utf8' });
    const verbs = [...help.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!).sort();
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Operator CLI'), readme.indexOf('## Documentation'));
    const rows = [...section.matchAll(/^\| `([a-z-]+)[` ]/gm)].map((m) => m[1]!);
    // `add` / `del` share a row.
    const listed = [...new Set([...rows, ...(section.includes('`del`') ? ['del'] : [])])].sort();
    expect(listed).toEqual(verbs);
  });
});
