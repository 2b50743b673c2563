import { parseJsDomains } from '../../domains.ts';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import { agentIdText, type SimCorpConfig } from './state.ts';

/**
 * Reads the simulator's `corps` option: objects, or `'CORPID:AGENTID:SECRET'` strings (the secret is
 * everything after the second colon). Several apps of one corp are several entries with the same
 * corpId. Errors never quote a secret.
 */
export function parseCorps(
  input: ReadonlyArray<SimCorpConfig | string> | undefined,
  appIds: ReadonlySet<string>,
): SimCorpConfig[] {
  const corps: SimCorpConfig[] = [];
  for (const entry of input ?? []) {
    let corp: SimCorpConfig;
    if (typeof entry === 'string') {
      const [corpId = '', agentId = '', ...rest] = entry.split(':');
      const secret = rest.join(':');
      if (corpId === '' || agentId === '' || secret === '') {
        throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'a WeCom app must be given as CORPID:AGENTID:SECRET');
      }
      corp = { corpId, agentId, secret };
    } else corp = entry;
    if (!/^[\w-]{1,64}$/.test(corp.corpId) || typeof corp.secret !== 'string' || corp.secret === '') {
      throw new WxkitError(ErrorCodes.CONFIG_ERROR, `invalid simulated corp "${corp.corpId}"`);
    }
    const agentId = agentIdText(corp.agentId);
    if (agentId === undefined) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `corp "${corp.corpId}": the agentid must be a positive integer (e.g. 1000002)`,
      );
    }
    if (appIds.has(corp.corpId)) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `"${corp.corpId}" is both an Official Account appId and a corpId`,
      );
    }
    if (corp.jsDomains !== undefined) parseJsDomains(corp.jsDomains);
    const same = corps.filter((c) => c.corpId === corp.corpId);
    if (same.some((c) => agentIdText(c.agentId) === agentId)) {
      throw new WxkitError(ErrorCodes.CONFIG_ERROR, `corp "${corp.corpId}" app ${agentId} is given twice`);
    }
    if (same.some((c) => c.secret === corp.secret)) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `corp "${corp.corpId}": two apps share one secret (each WeCom app has its own)`,
      );
    }
    corps.push({ ...corp, agentId });
  }
  return corps;
}
