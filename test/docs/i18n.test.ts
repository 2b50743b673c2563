// Chinese is a first language of wxkit (issue 12 item 11): every document exists in English and in
// Simplified Chinese, the two have the same sections and the same examples, each links to its twin at
// the top, and the Chinese pages link to Chinese pages. Prose is translated freely; code is not —
// except its comments, which may be translated.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ZH_DIR = 'docs/zh-CN';

interface Fence {
  lang: string;
  body: string[];
  line: number;
}
interface Heading {
  level: number;
  text: string;
  line: number;
}
interface Doc {
  path: string;
  lines: string[];
  headings: Heading[];
  fences: Fence[];
  /** Lines outside fenced code blocks, as [line number, text]. */
  prose: Array<[number, string]>;
}

function parse(path: string): Doc {
  const lines = readFileSync(join(ROOT, path), 'utf8').split(/\r?\n/);
  const headings: Heading[] = [];
  const fences: Fence[] = [];
  const prose: Array<[number, string]> = [];
  let open: { marker: string; fence: Fence } | undefined;
  lines.forEach((text, i) => {
    const line = i + 1;
    if (open) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(text);
      const marker = close?.[1];
      if (marker && marker[0] === open.marker[0] && marker.length >= open.marker.length) open = undefined;
      else open.fence.body.push(text);
      return;
    }
    const start = /^\s*(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
    if (start) {
      const fence: Fence = { lang: start[2] ?? '', body: [], line };
      fences.push(fence);
      open = { marker: start[1] ?? '```', fence };
      return;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(text);
    if (heading) headings.push({ level: heading[1]?.length ?? 0, text: heading[2] ?? '', line });
    prose.push([line, text]);
  });
  assert.equal(
    open,
    undefined,
    `${path}: a fenced code block opened at line ${open?.fence.line} never closes`,
  );
  return { path, lines, headings, fences, prose };
}

/**
 * The code of a fenced block without its comments and blank lines: `//`, `#` and HTML comments that start
 * a line or follow whitespace (so `https://` and `'#/cart'` stay), and `/* … *\/` blocks. What remains
 * must be identical in both languages.
 */
function codeOf(body: string[]): string[] {
  const text = body
    .join('\n')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/<!--[\s\S]*?-->/g, '');
  return text
    .split('\n')
    .map((l) => l.replace(/(^|\s)(\/\/|#).*$/, '').trimEnd())
    .filter((l) => l.trim() !== '');
}

/** Untagged (or `text`) fences are diagrams and sample output: translated freely, only their place counts. */
const isCode = (f: Fence) => f.lang !== '' && f.lang !== 'text';

/** GitHub's heading anchor: rendered text lower-cased, punctuation dropped, spaces → `-`, repeats numbered. */
function anchors(doc: Doc): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of doc.headings) {
    const rendered = h.text.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = rendered
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

interface Link {
  line: number;
  target: string;
}

/** Inline links in prose; inline code spans are not links. */
function linksOf(doc: Doc): Link[] {
  const out: Link[] = [];
  for (const [line, text] of doc.prose) {
    const noCode = text.replace(/`[^`]*`/g, '');
    for (const m of noCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g))
      out.push({ line, target: m[1] ?? '' });
  }
  return out;
}

const isZh = (path: string) => path === 'README.zh-CN.md' || path.startsWith(`${ZH_DIR}/`);

function twinOf(path: string): string {
  if (path === 'README.md') return 'README.zh-CN.md';
  if (path === 'README.zh-CN.md') return 'README.md';
  if (path.startsWith(`${ZH_DIR}/`)) return `docs/${path.slice(ZH_DIR.length + 1)}`;
  return `${ZH_DIR}/${path.slice('docs/'.length)}`;
}

const mdIn = (dir: string) =>
  existsSync(join(ROOT, dir))
    ? readdirSync(join(ROOT, dir))
        .filter((n) => n.endsWith('.md') && statSync(join(ROOT, dir, n)).isFile())
        .sort()
    : [];

const enDocs = mdIn('docs');
const zhDocs = mdIn(ZH_DIR);
const pairs: Array<[string, string]> = [
  ['README.md', 'README.zh-CN.md'],
  ...enDocs.filter((n) => zhDocs.includes(n)).map((n): [string, string] => [`docs/${n}`, `${ZH_DIR}/${n}`]),
];
const allDocs = [
  'README.md',
  'README.zh-CN.md',
  ...enDocs.map((n) => `docs/${n}`),
  ...zhDocs.map((n) => `${ZH_DIR}/${n}`),
];

/** Resolve a relative link of `from` to a repository path and fragment, or undefined for URLs. */
function resolveLink(from: string, target: string): { path: string; fragment: string } | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const hash = target.indexOf('#');
  const file = hash === -1 ? target : target.slice(0, hash);
  const fragment = hash === -1 ? '' : decodeURIComponent(target.slice(hash + 1));
  const path = file === '' ? from : relative(ROOT, resolve(ROOT, dirname(from), file));
  return { path, fragment };
}

describe('documentation in English and Chinese', () => {
  test('every docs/*.md has a docs/zh-CN/ twin and every docs/zh-CN/*.md an English one', () => {
    assert.ok(enDocs.length > 0);
    assert.deepEqual(
      enDocs.filter((n) => !zhDocs.includes(n)),
      [],
      'English docs without a Chinese version in docs/zh-CN/',
    );
    assert.deepEqual(
      zhDocs.filter((n) => !enDocs.includes(n)),
      [],
      'Chinese docs without an English version in docs/',
    );
  });

  for (const [en, zh] of pairs) {
    describe(`${en} ↔ ${zh}`, () => {
      test('the same sequence of heading levels', () => {
        const a = parse(en).headings;
        const b = parse(zh).headings;
        const show = (hs: Heading[]) => hs.map((h) => `${'#'.repeat(h.level)} ${h.text}`).join('\n');
        assert.deepEqual(
          b.map((h) => h.level),
          a.map((h) => h.level),
          `section structure differs:\n--- ${en}\n${show(a)}\n--- ${zh}\n${show(b)}`,
        );
      });

      test('the same fenced blocks, with the same code apart from comments', () => {
        const a = parse(en).fences;
        const b = parse(zh).fences;
        assert.deepEqual(
          b.map((f) => f.lang),
          a.map((f) => f.lang),
          `fenced blocks (languages, in order) differ: ${en} has ${a.length}, ${zh} has ${b.length}`,
        );
        a.forEach((fa, i) => {
          const fb = b[i];
          if (!fb || !isCode(fa)) return;
          assert.deepEqual(
            codeOf(fb.body),
            codeOf(fa.body),
            `code block ${i + 1} (${en}:${fa.line}, ${zh}:${fb.line}) differs outside its comments`,
          );
        });
      });

      test('each links to the other near the top', () => {
        for (const [doc, twin] of [
          [en, zh],
          [zh, en],
        ] as const) {
          const top = linksOf(parse(doc)).filter((l) => l.line <= 5);
          assert.ok(
            top.some((l) => resolveLink(doc, l.target)?.path === twin),
            `${doc} has no link to ${twin} in its first 5 lines`,
          );
        }
      });

      test('the Chinese version is written in Chinese', () => {
        const doc = parse(zh);
        const text = doc.prose
          .map(([, t]) => t)
          .join('\n')
          .replace(/<!--[\s\S]*?-->/g, '')
          .replace(/`[^`]*`/g, '')
          .replace(/\]\([^)]*\)/g, ']')
          .replace(/[\x21-\x7e]*\/[\x21-\x7e]*/g, ''); // paths and URLs are not prose
        const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
        const latin = text.match(/[A-Za-z]/g)?.length ?? 0;
        const share = han / Math.max(1, han + latin);
        assert.ok(share >= 0.4, `${zh}: only ${Math.round(share * 100)}% of its prose letters are Chinese`);
      });
    });
  }

  test('relative links point at files and headings that exist, in the same language', () => {
    const problems: string[] = [];
    for (const path of allDocs) {
      for (const link of linksOf(parse(path))) {
        const to = resolveLink(path, link.target);
        if (!to) continue;
        const where = `${path}:${link.line} → ${link.target}`;
        if (!existsSync(join(ROOT, to.path))) {
          problems.push(`${where}: no such file`);
          continue;
        }
        if (to.path.endsWith('.md') && to.path !== twinOf(path) && isZh(to.path) !== isZh(path)) {
          problems.push(`${where}: links to the other language (use ${twinOf(to.path)})`);
        }
        if (to.fragment && to.path.endsWith('.md') && !anchors(parse(to.path)).has(to.fragment)) {
          problems.push(`${where}: ${to.path} has no heading with anchor #${to.fragment}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
