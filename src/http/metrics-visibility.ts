import type { Account } from '../types.ts';
import { isWecom } from './account-kind.ts';

/** Labels whose values name a configured account or the upstream it calls. */
const HIDDEN_LABEL = /\b(appid|appId|corpid|corpId|agentid|agentId|host)="((?:[^"\\]|\\.)*)"/g;

/**
 * `/metrics` for an anonymous caller: every appId, corpId and agentId replaced by the account's place
 * in the configuration (`account-1`, …) and every upstream host by `upstream-1`, … — the rule `/readyz`
 * follows for callers that are neither on this machine nor hold an API key.
 *
 * Stops the account list leaking through the scrape endpoint: behind a proxy `/metrics` is as reachable
 * as `/readyz`, and a label value per configured appId (a WeCom corp and its apps) tells anyone which
 * accounts this service holds credentials for, and `host` which upstream (`WX_API_BASE`) it calls. The
 * aliases are distinct per value, so no two series merge and the counts still add up.
 */
export function anonymousMetrics(text: string, accounts: readonly Account[]): string {
  const aliases = new Map<string, string>();
  accounts.forEach((a, i) => {
    const alias = `account-${i + 1}`;
    const ids = isWecom(a) ? [`wecom:${a.corpId}:${a.agentId}`, a.corpId, a.agentId] : [a.appId];
    for (const id of ids) if (!aliases.has(`id\0${id}`)) aliases.set(`id\0${id}`, alias);
  });
  const counts = { id: 0, host: 0 };
  return text.replace(HIDDEN_LABEL, (_m, name: string, value: string) => {
    const kind = name === 'host' ? 'host' : 'id';
    const key = `${kind}\0${value}`;
    let alias = aliases.get(key);
    if (alias === undefined) {
      alias = kind === 'host' ? `upstream-${++counts.host}` : `unlisted-${++counts.id}`;
      aliases.set(key, alias);
    }
    return `${name}="${alias}"`;
  });
}
