import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.ts';
import { APP, getJson, SECRET } from './helpers.ts';

export const CORP = 'ww5imc0rp0000001';
export const AGENT = '1000002';
export const AGENT_SECRET = 'agent-secret-1000002';
export const AGENT2 = '1000003';
export const AGENT2_SECRET = 'agent-secret-1000003';

/** A simulator with one Official Account and one corp of two apps. */
export function startWecom(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({
    apps: [`${APP}:${SECRET}`],
    corps: [
      { corpId: CORP, agentId: Number(AGENT), secret: AGENT_SECRET, jsDomains: ['work.example.com'] },
      `${CORP}:${AGENT2}:${AGENT2_SECRET}`,
    ],
    ...options,
  });
}

/** WeCom's error errmsg: `<text>, hint: [<epoch>_<n>_<hex>], from ip: <ip>, more info at …?e=<errcode>`. */
export const HINT =
  /^(.*), hint: \[\d+_\d+_[0-9a-f]{32}\], from ip: [^,]+, more info at https:\/\/open\.work\.weixin\.qq\.com\/devtool\/query\?e=(-?\d+)$/;

export function isWecomError(body: Record<string, unknown>, errcode: number, text?: string): boolean {
  if (body.errcode !== errcode || typeof body.errmsg !== 'string') return false;
  const m = HINT.exec(body.errmsg);
  if (!m || m[2] !== String(errcode)) return false;
  return text === undefined || m[1] === text;
}

export function gettoken(
  sim: Simulator,
  corpid = CORP,
  secret = AGENT_SECRET,
): Promise<Record<string, unknown>> {
  const q = new URLSearchParams({ corpid, corpsecret: secret });
  return getJson(`${sim.url}/cgi-bin/gettoken?${q}`);
}

export async function tokenOf(sim: Simulator, secret = AGENT_SECRET): Promise<string> {
  const body = await gettoken(sim, CORP, secret);
  if (typeof body.access_token !== 'string') throw new Error(JSON.stringify(body));
  return body.access_token;
}

export function corpTicket(sim: Simulator, token: string): Promise<Record<string, unknown>> {
  return getJson(`${sim.url}/cgi-bin/get_jsapi_ticket?access_token=${encodeURIComponent(token)}`);
}

export function agentTicket(
  sim: Simulator,
  token: string,
  type = 'agent_config',
): Promise<Record<string, unknown>> {
  return getJson(`${sim.url}/cgi-bin/ticket/get?access_token=${encodeURIComponent(token)}&type=${type}`);
}
