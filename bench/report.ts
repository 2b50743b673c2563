import { readFileSync, writeFileSync } from 'node:fs';

const FILES = {
  en: new URL('../docs/benchmarks.md', import.meta.url).pathname,
  'zh-CN': new URL('../docs/zh-CN/benchmarks.md', import.meta.url).pathname,
};

/**
 * Replaces the `<!-- bench:NAME -->…<!-- /bench:NAME -->` section of docs/benchmarks.md, or of
 * docs/zh-CN/benchmarks.md for `lang` 'zh-CN' (or appends it),
 * so each benchmark rewrites only its own results.
 */
export function writeBenchSection(name: string, markdown: string, lang: keyof typeof FILES = 'en'): void {
  const file = FILES[lang];
  let doc = '# Benchmarks\n';
  try {
    doc = readFileSync(file, 'utf8');
  } catch {
    // first section
  }
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${begin}\n${markdown.trim()}\n${end}`;
  const at = doc.indexOf(begin);
  const until = doc.indexOf(end);
  doc =
    at !== -1 && until > at
      ? doc.slice(0, at) + section + doc.slice(until + end.length)
      : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, doc);
}
