import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.ts';

export const APP = 'wxsimtest00000001';
export const SECRET = 'simtestsecret';
export const APP2 = 'wxsimtest00000002';
export const SECRET2 = 'simtestsecret2';

/** A simulator with two accounts on a free port. */
export function start(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ apps: [`${APP}:${SECRET}`, `${APP2}:${SECRET2}`], ...options });
}

export const RID = / rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/;

export async function getJson(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const res = await fetch(url, init);
  return (await res.json()) as Record<string, unknown>;
}

export function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  return getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function classicToken(sim: Simulator, appid = APP, secret = SECRET): Promise<Record<string, unknown>> {
  return getJson(
    `${sim.url}/cgi-bin/token?grant_type=client_credential&appid=${encodeURIComponent(appid)}&secret=${encodeURIComponent(secret)}`,
  );
}

export function stableToken(
  sim: Simulator,
  extra: Record<string, unknown> = {},
  appid = APP,
  secret = SECRET,
): Promise<Record<string, unknown>> {
  return postJson(`${sim.url}/cgi-bin/stable_token`, {
    grant_type: 'client_credential',
    appid,
    secret,
    ...extra,
  });
}

export function ticket(sim: Simulator, token: unknown, type = 'jsapi'): Promise<Record<string, unknown>> {
  return getJson(`${sim.url}/cgi-bin/ticket/getticket?access_token=${String(token)}&type=${type}`);
}

/** WeChat's error body: errcode N and errmsg text followed by a rid. */
export function isWechatError(body: Record<string, unknown>, errcode: number, text?: string): boolean {
  if (body.errcode !== errcode || typeof body.errmsg !== 'string' || !RID.test(body.errmsg)) return false;
  return text === undefined || body.errmsg.replace(RID, '') === text;
}
