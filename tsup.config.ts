import { defineConfig } from 'tsup';

/**
 * Library entry points (SPEC §5). Each one is added here and in package.json "exports" together,
 * once it has real content. Shared code is split into chunks so that `instanceof WxkitError` holds
 * across entry points.
 */
export const libraryEntries: Record<string, string> = {
  index: 'src/index.ts',
  simulator: 'src/simulator/index.ts',
  stores: 'src/stores/index.ts',
  media: 'src/media/index.ts',
  // The Store conformance suite for custom-store authors (node:assert; the test runner is theirs).
  'stores/testing': 'src/stores/testing.ts',
  client: 'src/client/index.ts',
  http: 'src/http/index.ts',
  express: 'src/adapters/express.ts',
  koa: 'src/adapters/koa.ts',
  fastify: 'src/adapters/fastify.ts',
  push: 'src/push/index.ts',
};

export default defineConfig([
  {
    entry: libraryEntries,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    splitting: true,
    target: 'node20',
    platform: 'node',
    sourcemap: false,
    shims: false,
  },
  {
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    splitting: false,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    // The browser helper as a classic script (`window.wxkit`), served by the service at /jssdk/client.js.
    entry: { client: 'src/client/index.ts' },
    format: ['iife'],
    globalName: 'wxkit',
    minify: true,
    platform: 'browser',
    target: 'es2017',
    splitting: false,
  },
]);
