// TEMPORARY stand-in for createWxkit until src/wxkit.ts lands; talks to the simulator's real API.
import { parseJsDomains } from '../../src/domains.ts';
import { WxkitError } from '../../src/errors.ts';
import { Metrics } from '../../src/metrics.ts';
import { buildJssdkConfig } from '../../src/signature.ts';
import type { Wxkit } from '../../src/types.ts';

export function createWxkit(o: {
  appId: string;
  secret: string;
  apiBase: string;
  openBase: string;
  store: string;
  jsDomains: string[];
}): Wxkit {
  let token: string | undefined;
  const get = async (path: string) =>
    (await fetch(o.apiBase + path)).json() as Promise<Record<string, string>>;
  const accessToken = async () => {
    token ??= (await get(`/cgi-bin/token?grant_type=client_credential&appid=${o.appId}&secret=${o.secret}`))
      .access_token;
    return token as string;
  };
  const ticket = async () =>
    (await get(`/cgi-bin/ticket/getticket?type=jsapi&access_token=${await accessToken()}`)).ticket as string;
  const account = {
    appId: o.appId,
    jsDomains: parseJsDomains(o.jsDomains),
    metrics: new Metrics(),
    accessToken,
    ticket,
    knownTickets: async () => [],
    jssdkConfig: async (i: {
      url: string;
      jsApiList?: readonly string[];
      openTagList?: readonly string[];
      debug?: boolean;
    }) =>
      buildJssdkConfig({
        appId: o.appId,
        ticket: await ticket(),
        url: i.url,
        jsApiList: i.jsApiList,
        openTagList: i.openTagList,
        debug: i.debug,
      }),
    downloadMedia: async (id: string) => {
      const res = await fetch(
        `${o.apiBase}/cgi-bin/media/get?access_token=${await accessToken()}&media_id=${id}`,
      );
      const type = res.headers.get('content-type') ?? '';
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (type.includes('json')) {
        const e = JSON.parse(new TextDecoder().decode(bytes));
        throw new WxkitError('wechat_error', `media ${e.errcode}`, { errcode: e.errcode, errmsg: e.errmsg });
      }
      return { bytes, contentType: type };
    },
    close: async () => {},
  };
  return account as unknown as Wxkit;
}
