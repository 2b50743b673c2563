import { readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('../docs/benchmarks.md', import.meta.url).pathname;

/**
 * Replaces the `<!-- bench:NAME -->…<!-- /bench:NAME -->` section of docs/benchmarks.md (or appends it),
 * so each benchmark rewrites only its own results.
 */
export function writeBenchSection(name: string, markdown: string): void {
  let doc = '# Benchmarks\n';
  try {
    doc = readFileSync(FILE, 'utf8');
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
  writeFileSync(FILE, doc);
}
