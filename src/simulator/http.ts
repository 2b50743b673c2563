import { randomBytes } from 'node:crypto';
import type { SimState } from './state.ts';

/**
 * The shape of a simulator endpoint. Each route module (token.ts, ticket.ts, media.ts, control.ts,
 * and the bridge and OAuth modules) exports a `SimRoute[]`; routes.ts lists them. A handler gets a
 * web-standard `Request` whose body is already read (size-limited) and returns a `Response`.
 */
export interface SimRoute {
  /** Exact path (`/cgi-bin/token`), or a prefix ending in `/*` (`/__bridge/*`). */
  path: string;
  /** Accepted methods. Others get WeChat's 43001/43002 under /cgi-bin and /sns, else HTTP 405. */
  methods: readonly string[];
  /** Answer cross-origin requests (and their preflight): control API and JS-bridge endpoints. */
  cors?: boolean;
  /** `wecom`: a qyapi.weixin.qq.com endpoint; injected errcodes and method errors answer in WeCom's shape. */
  flavor?: 'wecom';
  handler: SimHandler;
}

export type SimHandler = (req: Request, ctx: SimContext) => Response | Promise<Response>;

export interface SimContext {
  state: SimState;
  /** The parsed request URL (`url.searchParams` for the query). */
  url: URL;
  /** The caller's address as the socket reports it (`127.0.0.1` or `::ffff:127.0.0.1`). */
  ip: string;
  /** The simulator's own base URL, e.g. `http://127.0.0.1:9100`. */
  baseUrl: string;
}

/** WeChat's own errmsg texts (before ` rid: …`). */
const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40004: 'invalid media type',
  40005: 'invalid file type',
  40006: 'invalid meida size',
  40007: 'invalid media_id',
  40013: 'invalid appid',
  40014: 'invalid access_token',
  40097: 'invalid args',
  40125: 'invalid appsecret',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  41005: 'media data missing',
  41006: 'media_id missing',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  44002: 'empty post data',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit mustslower retry next minute',
  47001: 'data format error',
};

/** The errmsg WeChat sends with `errcode` (without the rid). */
export function errmsgFor(errcode: number): string {
  return ERRMSG[errcode] ?? 'system error';
}

/** A JSON response, HTTP 200 unless told otherwise. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; encoding=utf-8', ...headers },
  });
}

/** WeChat's error answer: HTTP 200, `{"errcode":N,"errmsg":"… rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"}`. */
export function wechatError(state: SimState, errcode: number, errmsg: string = errmsgFor(errcode)): Response {
  return json({ errcode, errmsg: `${errmsg} rid: ${state.rid()}` });
}

/** The caller's address in both forms WeChat prints in 40164: `1.2.3.4` and `::ffff:1.2.3.4`. */
export function ipForms(ip: string): { v4: string; v6: string } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m?.[1]) return { v4: m[1], v6: ip };
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return { v4: ip, v6: `::ffff:${ip}` };
  return { v4: ip, v6: ip };
}

/** 40164 with the caller's IP, or `undefined` when the whitelist is off or lists the caller. */
export function checkIpWhitelist(ctx: SimContext): Response | undefined {
  const list = ctx.state.ipWhitelist;
  if (list === null) return undefined;
  const { v4, v6 } = ipForms(ctx.ip);
  if (list.includes(v4) || list.includes(v6) || list.includes(ctx.ip)) return undefined;
  return wechatError(ctx.state, 40164, `invalid ip ${v4} ipv6 ${v6}, not in whitelist`);
}

/** Parses JSON text; `undefined` for empty or malformed text (handlers answer 44002/47001). */
/** A control API refusal: HTTP 400 (or `status`) `{"error":{"code":"invalid_request","message"}}`. */
export function badRequest(message: string, status = 400): Response {
  return json({ error: { code: 'invalid_request', message } }, status);
}

/** A control API body: `{}` when empty, `undefined` when it is not a JSON object. */
export async function controlBody(req: Request): Promise<Record<string, unknown> | undefined> {
  const text = await req.text();
  if (text.trim() === '') return {};
  return asRecord(parseJson(text));
}

export function parseJson(text: string): unknown {
  try {
    return text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** A plain object, or `undefined`. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** WeCom's errmsg texts (before `, hint: …`). */
const WECOM_ERRMSG: Record<number, string> = {
  [-1]: 'system busy',
  40001: 'invalid credential',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40058: 'invalid Request Parameter',
  41001: 'access_token missing',
  41002: 'corpid missing',
  41004: 'corpsecret missing',
  41008: 'missing code',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  45009: 'api freq out of limit',
  50001: 'redirect_uri not authorized',
  60020: 'not allow to access from your ip',
};

/**
 * WeCom's error answer: HTTP 200, `{"errcode":N,"errmsg":"<text>, hint: [<epoch>_<n>_<32 hex>], from ip:
 * <caller>, more info at https://open.work.weixin.qq.com/devtool/query?e=N"}` — WeCom's shape, not the
 * Official Account's ` rid: …`.
 */
export function wecomError(
  state: SimState,
  errcode: number,
  ip: string,
  errmsg: string = WECOM_ERRMSG[errcode] ?? 'system busy',
): Response {
  const hint = `${state.now()}_${Math.floor(Math.random() * 1000)}_${randomBytes(16).toString('hex')}`;
  const from = ipForms(ip).v4;
  return json({
    errcode,
    errmsg: `${errmsg}, hint: [${hint}], from ip: ${from}, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`,
  });
}
