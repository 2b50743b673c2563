import { actionFor, describeErrcode } from '../errcodes.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { TicketType } from '../types.ts';

/**
 * Requests to WeChat (and to a central wxkit) and the pure functions that turn their responses into a
 * credential or a typed error. Fetching and interpreting are separate so interpreters are tested by
 * feeding them a `new Response(...)`.
 */

/** A credential as an upstream returned it. */
export interface Fetched {
  value: string;
  /** Milliseconds since the epoch (wxkit's clock). */
  expiresAt: number;
  /** `stable_token`, `token`, `getticket` or `remote`. */
  source: string;
}

export interface TokenRequestInput {
  apiBase: string;
  appId: string;
  secret: string;
}

/** `POST /cgi-bin/stable_token` (never with force_refresh unless asked). */
export function stableTokenRequest(input: TokenRequestInput, forceRefresh = false): Request {
  const body: Record<string, unknown> = {
    grant_type: 'client_credential',
    appid: input.appId,
    secret: input.secret,
  };
  if (forceRefresh) body.force_refresh = true;
  return new Request(new URL('/cgi-bin/stable_token', input.apiBase), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=`. */
export function classicTokenRequest(input: TokenRequestInput): Request {
  const url = new URL('/cgi-bin/token', input.apiBase);
  url.searchParams.set('grant_type', 'client_credential');
  url.searchParams.set('appid', input.appId);
  url.searchParams.set('secret', input.secret);
  return new Request(url);
}

/** `GET /cgi-bin/ticket/getticket?access_token=&type=`. */
export function ticketRequest(apiBase: string, accessToken: string, type: TicketType): Request {
  const url = new URL('/cgi-bin/ticket/getticket', apiBase);
  url.searchParams.set('access_token', accessToken);
  url.searchParams.set('type', type);
  return new Request(url);
}

/** `GET {remote}/v1/apps/:appId/access_token|jsapi_ticket` with the bearer key. */
export function remoteCredentialRequest(
  remoteUrl: string,
  remoteKey: string,
  appId: string,
  what: 'access_token' | 'jsapi_ticket',
): Request {
  return new Request(joinUrl(remoteUrl, `/v1/apps/${encodeURIComponent(appId)}/${what}`), {
    headers: { authorization: `Bearer ${remoteKey}`, accept: 'application/json' },
  });
}

/** `POST {remote}/v1/apps/:appId/access_token/invalidate {value}` (compare-and-invalidate on the central wxkit). */
export function remoteInvalidateRequest(
  remoteUrl: string,
  remoteKey: string,
  appId: string,
  value: string,
): Request {
  return new Request(joinUrl(remoteUrl, `/v1/apps/${encodeURIComponent(appId)}/access_token/invalidate`), {
    method: 'POST',
    headers: { authorization: `Bearer ${remoteKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
}

/** Turns a token endpoint's answer into a credential, or throws a {@link WxkitError} with the errcode. */
export async function processTokenResponse(res: Response, now: number, source: string): Promise<Fetched> {
  const body = await readPlatformJson(res, 'access_token');
  if (typeof body.access_token === 'string' && body.access_token !== '' && !isError(body)) {
    return { value: body.access_token, expiresAt: now + lifetimeMs(body.expires_in), source };
  }
  throw wechatError(body, 'access_token');
}

/** Turns getticket's answer into a credential, or throws a {@link WxkitError} with the errcode. */
export async function processTicketResponse(res: Response, now: number): Promise<Fetched> {
  const body = await readPlatformJson(res, 'ticket');
  if (typeof body.ticket === 'string' && body.ticket !== '' && !isError(body)) {
    return { value: body.ticket, expiresAt: now + lifetimeMs(body.expires_in), source: 'getticket' };
  }
  throw wechatError(body, 'ticket');
}

/** Turns a central wxkit's `{value, expiresAt}` (or its SPEC §3 error body) into a credential or an error. */
export async function processRemoteResponse(res: Response): Promise<Fetched> {
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    // handled below
  }
  if (res.ok && typeof body.value === 'string' && typeof body.expiresAt === 'number') {
    return { value: body.value, expiresAt: body.expiresAt, source: 'remote' };
  }
  const err = (body.error ?? {}) as {
    code?: unknown;
    message?: unknown;
    wechat?: { errcode?: unknown; errmsg?: unknown };
  };
  const errcode = typeof err.wechat?.errcode === 'number' ? err.wechat.errcode : undefined;
  const errmsg = typeof err.wechat?.errmsg === 'string' ? err.wechat.errmsg : undefined;
  const detail = typeof err.message === 'string' ? `: ${err.message.slice(0, 300)}` : '';
  if (res.status === 401 || res.status === 403) {
    return Promise.reject(
      new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `The central wxkit refused our key (HTTP ${res.status})${detail}`,
        {
          status: 502,
          hint: {
            en: 'Check WXKIT_REMOTE_KEY against WXKIT_API_KEYS on the central wxkit.',
            zh: '请核对 WXKIT_REMOTE_KEY 与中控 wxkit 的 WXKIT_API_KEYS。',
          },
        },
      ),
    );
  }
  if (errcode !== undefined && (res.status < 500 || res.status === 502)) {
    throw new WxkitError(ErrorCodes.WECHAT_ERROR, `The central wxkit reports a WeChat error${detail}`, {
      errcode,
      ...(errmsg === undefined ? {} : { errmsg }),
    });
  }
  if (res.status === 404) {
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, `The central wxkit does not know this account${detail}`, {
      status: 502,
      hint: {
        en: 'Configure the same WX_APP_ID on the central wxkit, or fix WXKIT_REMOTE_URL.',
        zh: '请在中控 wxkit 上配置相同的 WX_APP_ID，或检查 WXKIT_REMOTE_URL。',
      },
    });
  }
  throw new WxkitError(
    ErrorCodes.UPSTREAM_UNAVAILABLE,
    `The central wxkit answered HTTP ${res.status}${detail}`,
    {
      retryAfter: 5,
    },
  );
}

/**
 * What the credential layer does about an error: refresh the token, back off (briefly for a busy
 * upstream, for minutes after an hourly limit), or remember and fail.
 */
export type FailureKind = 'token-invalid' | 'transient' | 'rate-limited' | 'permanent';

export function failureKind(e: unknown): FailureKind {
  if (e instanceof WxkitError) {
    if (e.errcode !== undefined) {
      if (e.category === 'rate-limit') return 'rate-limited';
      const action = actionFor(e.errcode, e.platform);
      if (action === 'refresh-token') return 'token-invalid';
      if (action === 'backoff') return 'transient';
      return 'permanent';
    }
    if (e.code === ErrorCodes.UPSTREAM_UNAVAILABLE || e.code === ErrorCodes.ABORTED) return 'transient';
    return 'permanent';
  }
  return 'transient';
}

/** True when a fetch gave up because its `AbortSignal.timeout` fired (the upstream did not answer in time). */
export function isTimeout(cause: unknown): boolean {
  return (cause as { name?: unknown })?.name === 'TimeoutError';
}

/** A network failure, worded without the URL (a classic token URL carries the secret). */
export function networkError(apiBase: string, cause: unknown): WxkitError {
  const code = (cause as { cause?: { code?: unknown } })?.cause?.code;
  const name = (cause as { name?: unknown })?.name;
  const why = name === 'TimeoutError' ? 'timed out' : typeof code === 'string' ? code : 'network error';
  return new WxkitError(ErrorCodes.UPSTREAM_UNAVAILABLE, `Cannot reach ${origin(apiBase)} (${why})`, {
    cause,
    retryAfter: 1,
    hint: {
      en: 'WeChat (or WX_API_BASE) is unreachable from this server; wxkit retries with backoff.',
      zh: '本服务器无法访问微信接口（或 WX_API_BASE）；wxkit 会退避重试。',
    },
  });
}

/**
 * The JSON object of a platform's answer (WeChat's and WeCom's APIs both answer `{errcode, errmsg, …}`
 * with HTTP 200), or an `upstream_unavailable` when it is not a JSON object.
 */
export async function readPlatformJson(
  res: Response,
  what: string,
  platform: 'WeChat' | 'WeCom' = 'WeChat',
): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await res.json();
  } catch (cause) {
    throw new WxkitError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `${platform} answered the ${what} request with HTTP ${res.status} and no JSON`,
      { cause, retryAfter: 1 },
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WxkitError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `${platform} answered the ${what} request with unexpected JSON`,
      { retryAfter: 1 },
    );
  }
  return body as Record<string, unknown>;
}

/** Whether a WeChat JSON answer carries a non-zero errcode. */
export function isError(body: Record<string, unknown>): boolean {
  return typeof body.errcode === 'number' && body.errcode !== 0;
}

/**
 * The error for a WeChat JSON answer that does not hold what was asked for (`what`): a busy WeChat is
 * `upstream_unavailable` (backed off and asked again), any other errcode `wechat_error`.
 */
export function wechatError(body: Record<string, unknown>, what: string): WxkitError {
  // `{"errcode":0}` (or no errcode) without the value: a glitch of WeChat or a proxy, not our
  // configuration — backed off and asked again like a busy WeChat, as the WeCom path does.
  if (typeof body.errcode !== 'number' || body.errcode === 0) {
    return new WxkitError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `WeChat answered the ${what} request without a ${what}`,
      { retryAfter: 1 },
    );
  }
  const errcode = body.errcode;
  const errmsg = typeof body.errmsg === 'string' ? body.errmsg.slice(0, 300) : '';
  const info = describeErrcode(errcode);
  const action = actionFor(errcode);
  const transient = action === 'backoff';
  return new WxkitError(
    transient ? ErrorCodes.UPSTREAM_UNAVAILABLE : ErrorCodes.WECHAT_ERROR,
    `WeChat refused the ${what} request: ${errcode} ${info?.name ?? errmsg}`,
    { errcode, errmsg, ...(transient ? { retryAfter: 1 } : {}) },
  );
}

/** `expires_in` in ms (WeChat's 7200 s when absent or nonsense). */
export function lifetimeMs(expiresIn: unknown): number {
  const s = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 7200;
  return s * 1000;
}

function origin(base: string): string {
  try {
    return new URL(base).origin;
  } catch {
    return 'the upstream';
  }
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}
