// The Official Account lives in src/accounts/official.ts, on the machinery every account kind shares
// (src/accounts/engine.ts). This module keeps the names and import path it always had.

export type { WxkitInstance, WxkitOptions } from './accounts/official.ts';
export { createWxkit } from './accounts/official.ts';
export type { WxkitLogger } from './accounts/options.ts';
