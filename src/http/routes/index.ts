/**
 * The route table. A route module is a file in this folder exporting
 *
 *   export const routes: readonly Route[]   // Route: { method, path, handle(ctx), cors?, rateLimit? }
 *
 * where `path` is literal segments and `:name` parameters, and `handle(ctx: RouteContext)` returns a
 * `Reply` (see ../reply.ts: `json(status, value)`) or any web `Response`, or throws a WxkitError (the
 * handler renders every error in one place). To add a module, import it and add it to `routeModules`.
 */
import type { Route } from '../route.ts';
import { routes as cards } from './cards.ts';
import { routes as client } from './client.ts';
import { routes as health } from './health.ts';
import { routes as jssdk } from './jssdk.ts';
import { routes as media } from './media.ts';
import { routes as oauth } from './oauth.ts';
import { routes as pay } from './pay.ts';
import { routes as platform } from './platform.ts';
import { routes as push } from './push.ts';
import { routes as tokens } from './tokens.ts';

export const routeModules: readonly (readonly Route[])[] = [
  jssdk,
  media,
  cards,
  client,
  tokens,
  health,
  oauth,
  push,
  platform,
  pay,
];
