// Issue 18 item 22: what a newcomer's day missed in the docs, in both languages — the advice to keep
// the file store (tokens, tickets) out of git, and a short list of what wxkit does not do (yet).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

test('README, README.zh-CN and docs/custody.md (+zh-CN) tell you to put .wxkit/ in .gitignore', () => {
  for (const path of ['README.md', 'README.zh-CN.md', 'docs/custody.md', 'docs/zh-CN/custody.md']) {
    assert.match(read(path), /`\.wxkit\/`[^`]{0,60}`\.gitignore`/, path);
  }
});

test('both READMEs list what wxkit does not do (yet), the same number of items', () => {
  const items = (text: string, heading: RegExp) => {
    const at = text.search(heading);
    assert.ok(at >= 0, String(heading));
    const section = text.slice(at).split('\n## ')[0] as string;
    return section.split('\n').filter((l) => l.startsWith('- ')).length;
  };
  const en = items(read('README.md'), /^## What wxkit does not do \(yet\)$/m);
  const zh = items(read('README.zh-CN.md'), /^## wxkit（暂时）不做的事$/m);
  assert.ok(en >= 3 && en <= 6, `${en} items: keep it short`);
  assert.equal(zh, en);
});
