// `npm start`'s build: only what `wxkit serve` runs — dist/cli.js and the browser helper
// dist/client.global.js, the two tsup.config.ts entries with no declaration files — one line as each is
// done. The library build and its .d.ts (most of a full `tsup`, which `npm test` and `npm pack` run)
// are not needed to serve.
import { build, type Options } from 'tsup';
import configs from '../tsup.config.ts';

const forServe = (configs as Options[]).filter((c) => {
  const entry = c.entry as Record<string, string>;
  return 'cli' in entry || (Array.isArray(c.format) && c.format.includes('iife'));
});
for (const [i, config] of forServe.entries()) {
  const name = 'cli' in (config.entry as Record<string, string>) ? 'dist/cli.js' : 'dist/client.global.js';
  await build({ ...config, config: false, silent: true }); // only this entry, not the whole tsup.config.ts
  console.error(`wxkit: built ${name} (${i + 1}/${forServe.length})`);
}
