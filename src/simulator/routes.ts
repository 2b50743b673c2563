import { accountRoutes } from './account.ts';
import { bridgeRoutes } from './bridge/routes.ts';
import { controlRoutes } from './control.ts';
import type { SimRoute } from './http.ts';
import { mediaRoutes } from './media.ts';
import { oauthRoutes } from './oauth.ts';
import { cashierRoute } from './pay/cashier.ts';
import { payControlRoutes } from './pay/control.ts';
import { payRoutes } from './pay/routes.ts';
import { platformControlRoutes } from './platform/control.ts';
import { platformLoginRoutes } from './platform/login-page.ts';
import { platformOAuthRoutes } from './platform/oauth.ts';
import { releaseCheckRoute } from './platform/release-check.ts';
import { platformApiRoutes } from './platform/routes.ts';
import { pushControlRoutes } from './push/control.ts';
import { customSendRoutes } from './push/custom-send.ts';
import { ticketRoutes } from './ticket.ts';
import { tokenRoutes } from './token.ts';
import { wecomOAuthRoutes } from './wecom/oauth.ts';
import { wecomRoutes } from './wecom/routes.ts';

/**
 * Every endpoint the simulator serves. A route module exports a `SimRoute[]` (see http.ts) and is
 * added here with ONE line. Exact paths win over `/*` prefixes; otherwise the first match wins.
 */
export const simRoutes: readonly SimRoute[] = [
  ...tokenRoutes,
  ...ticketRoutes,
  ...mediaRoutes,
  ...accountRoutes,
  ...controlRoutes,
  ...bridgeRoutes,
  ...oauthRoutes,
  ...platformOAuthRoutes,
  ...wecomRoutes,
  ...wecomOAuthRoutes,
  ...pushControlRoutes,
  ...customSendRoutes,
  ...platformApiRoutes,
  ...platformLoginRoutes,
  ...platformControlRoutes,
  releaseCheckRoute,
  ...payRoutes,
  ...payControlRoutes,
  cashierRoute,
];
