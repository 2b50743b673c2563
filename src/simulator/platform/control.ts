import { badRequest, controlBody, json, type SimContext, type SimRoute } from '../http.ts';
import { pusherOf } from './pusher.ts';
import { platformOf } from './routes.ts';
import { PLATFORM_LIMITS, type SimComponent } from './state.ts';

/**
 * The open platform's control API (`/__sim/platform/*`; `/__sim/platform` itself switches iOS/Android):
 * components and their events URL, ticket pushes (push one now, stop, resume), authorizing and
 * unauthorizing accounts without the page, the list quirk, and the push log. Bad input is HTTP 400
 * `{"error":{"code":"invalid_request","message"}}` like the rest of the control API.
 */

function view(ctx: SimContext, c: SimComponent) {
  const p = platformOf(ctx.state);
  const latest = c.tickets.at(-1);
  return {
    componentAppId: c.componentAppId,
    eventsUrl: c.eventsUrl ?? null,
    messagesUrl: c.messagesUrl ?? null,
    pushing: c.pushing,
    lastTicketAt: latest?.issuedAt ?? null,
    ticketValidUntil: latest ? latest.issuedAt + PLATFORM_LIMITS.ticketLifetime : null,
    candidates: c.candidates.length,
    authorized: p.authorized(c).map((a) => a.authorizerAppId),
  };
}

/** A control route over one component named by `componentAppId` (the only one, when omitted). */
export function componentRoute(
  path: string,
  run: (ctx: SimContext, c: SimComponent, body: Record<string, unknown>) => Promise<Response> | Response,
): SimRoute {
  return {
    path,
    methods: ['POST'],
    cors: true,
    handler: async (req, ctx) => {
      const body = await controlBody(req);
      if (!body) return badRequest('body must be a JSON object');
      const p = platformOf(ctx.state);
      const id = body.componentAppId ?? (p.components.size === 1 ? [...p.components.keys()][0] : undefined);
      const c = p.get(id);
      if (!c) return badRequest(`unknown componentAppId ${JSON.stringify(String(id)).slice(0, 40)}`);
      return run(ctx, c, body);
    },
  };
}

/** GET lists the components; POST sets one's events URL (and messages URL) and pushes it a ticket at once. */
const components = (): SimRoute => {
  const post = componentRoute('/__sim/platform/components', async (ctx, c, body) => {
    if (body.eventsUrl !== undefined) {
      if (typeof body.eventsUrl !== 'string' || !/^https?:\/\//.test(body.eventsUrl)) {
        return badRequest('eventsUrl must be an http(s) URL');
      }
      c.eventsUrl = body.eventsUrl;
    }
    if (body.messagesUrl !== undefined) {
      if (
        typeof body.messagesUrl !== 'string' ||
        !/^https?:\/\//.test(body.messagesUrl) ||
        !body.messagesUrl.includes('$APPID$')
      ) {
        return badRequest('messagesUrl must be an http(s) URL with $APPID$ where the account goes');
      }
      c.messagesUrl = body.messagesUrl;
    }
    const pushed = c.eventsUrl ? await pusherOf(ctx.state, platformOf(ctx.state)).pushTicket(c) : undefined;
    return json({ ...view(ctx, c), ...(pushed ? { pushed } : {}) });
  });
  return {
    ...post,
    methods: ['GET', 'POST'],
    handler: (req, ctx) =>
      req.method === 'GET'
        ? json({ components: [...platformOf(ctx.state).components.values()].map((c) => view(ctx, c)) })
        : post.handler(req, ctx),
  };
};

const tickets = componentRoute('/__sim/platform/tickets', async (ctx, c, body) => {
  const { stop, resume, push } = body;
  if (stop === true) c.pushing = false;
  if (resume === true) c.pushing = true;
  const pushed = push === true ? await pusherOf(ctx.state, platformOf(ctx.state)).pushTicket(c) : undefined;
  return json({ ...view(ctx, c), ...(pushed ? { pushed } : {}) });
});

const authorize = componentRoute('/__sim/platform/authorize', async (ctx, c, body) => {
  const p = platformOf(ctx.state);
  const { appId, count, events } = body;
  let appIds: string[];
  if (typeof appId === 'string') appIds = [appId];
  else if (Number.isInteger(count) && (count as number) >= 1) appIds = c.candidates.slice(0, count as number);
  else return badRequest('give appId, or count (the first N accounts)');
  const unknown = appIds.find((a) => !c.candidates.includes(a));
  if (unknown) return badRequest(`${unknown} is not one of this component's accounts`);
  // Thousands of authorizations at once (a scale test) may skip the events: `events: false`.
  const onEvent = p.onEvent;
  if (events === false) p.onEvent = undefined;
  try {
    const codes = appIds.map((a) => ({ appId: a, authCode: p.authorize(c, a).authCode }));
    return json({ authorized: codes.length, codes: codes.slice(0, 100) });
  } finally {
    p.onEvent = onEvent;
  }
});

const unauthorize = componentRoute('/__sim/platform/unauthorize', (ctx, c, body) => {
  if (typeof body.appId !== 'string') return badRequest('appId is required');
  return json({ unauthorized: platformOf(ctx.state).unauthorize(c, body.appId) });
});

const quirks = componentRoute('/__sim/platform/quirks', (_ctx, c, body) => {
  const { listMissingRefreshToken } = body;
  if (
    !Array.isArray(listMissingRefreshToken) ||
    !listMissingRefreshToken.every((a) => typeof a === 'string')
  ) {
    return badRequest('listMissingRefreshToken must be a list of appIds');
  }
  let n = 0;
  for (const a of listMissingRefreshToken as string[]) {
    const auth = c.authorizations.get(a);
    if (auth) {
      auth.listQuirk = true;
      n++;
    }
  }
  return json({ quirks: n });
});

const log: SimRoute = {
  path: '/__sim/platform/log',
  methods: ['GET'],
  cors: true,
  handler: (_req, ctx) => json({ pushes: pusherOf(ctx.state, platformOf(ctx.state)).log }),
};

export const platformControlRoutes: SimRoute[] = [components(), tickets, authorize, unauthorize, quirks, log];
