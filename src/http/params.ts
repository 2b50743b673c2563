import { ErrorCodes, type Hint, WxkitError } from '../errors.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_LIST = 200;

/** `invalid_request` (400); `message` in both languages, or English only (a generic Chinese sentence then). */
export function invalidRequest(message: string | Hint, hint?: Hint): WxkitError {
  const [en, zh] = typeof message === 'string' ? [message, undefined] : [message.en, message.zh];
  return new WxkitError(ErrorCodes.INVALID_REQUEST, en, {
    ...(zh === undefined ? {} : { zh }),
    ...(hint ? { hint } : {}),
  });
}

/**
 * Query parameters, strictly: bad percent-encoding, duplicates of known names and (unless `_`-prefixed)
 * unknown names are refused — an unknown name is almost always the tail of a page URL that was not
 * encodeURIComponent'ed (`?url=https://a/p?x=1&y=2`), which would otherwise be signed silently wrong.
 */
export function readQuery(search: string, known: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  if (search.length <= 1) return out;
  for (const part of search.slice(1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq === -1 ? part : part.slice(0, eq);
    const rawValue = eq === -1 ? '' : part.slice(eq + 1);
    const key = decode(rawKey);
    const value = decode(rawValue);
    if (key.startsWith('_')) continue;
    if (!known.has(key)) {
      const name = JSON.stringify(key.slice(0, 40));
      const message = { en: `Unknown query parameter ${name}.`, zh: `未知的查询参数 ${name}。` };
      throw invalidRequest(message, {
        en: `Known parameters: ${[...known].join(', ')}. If it belongs to the page URL, encodeURIComponent the url value.`,
        zh: `可用参数：${[...known].join(', ')}。若它属于页面 URL，请对 url 的值做 encodeURIComponent。`,
      });
    }
    if (out.has(key)) {
      throw invalidRequest({
        en: `Query parameter ${key} is given more than once.`,
        zh: `查询参数 ${key} 出现了不止一次。`,
      });
    }
    out.set(key, value);
  }
  return out;
}

function decode(raw: string): string {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    const message = { en: 'The query string has bad percent-encoding.', zh: '查询字符串的百分号编码有误。' };
    throw invalidRequest(message, {
      en: 'Encode each value once with encodeURIComponent.',
      zh: '请对每个参数值只做一次 encodeURIComponent。',
    });
  }
}

/** A list of JS-SDK API or open-tag names from `a,b` or `["a","b"]`. */
export function readNameList(value: unknown, field: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (!Array.isArray(items)) {
    throw invalidRequest({
      en: `${field} must be an array of names or a comma list.`,
      zh: `${field} 应为名称数组或逗号分隔的列表。`,
    });
  }
  if (items.length > MAX_LIST) {
    throw invalidRequest({
      en: `${field} has more than ${MAX_LIST} entries.`,
      zh: `${field} 超过 ${MAX_LIST} 项。`,
    });
  }
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' || !NAME.test(item)) {
      const shown = JSON.stringify(String(item).slice(0, 40));
      throw invalidRequest({
        en: `${field} contains ${shown}, which is not an API name.`,
        zh: `${field} 中的 ${shown} 不是接口名称。`,
      });
    }
    out.push(item);
  }
  return out;
}

/** `1/true/0/false` (query) or a JSON boolean. */
export function readBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (typeof value === 'boolean') return value;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw invalidRequest({
    en: `${field} must be true/false or 1/0.`,
    zh: `${field} 应为 true/false 或 1/0。`,
  });
}

/** An optional string field. */
export function readString(value: unknown, field: string, max = 8192): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw invalidRequest({ en: `${field} must be a string.`, zh: `${field} 应为字符串。` });
  if (value.length > max) {
    throw invalidRequest({
      en: `${field} is longer than ${max} characters.`,
      zh: `${field} 超过 ${max} 个字符。`,
    });
  }
  return value;
}

/** An appId: `wx` + 16 hex in production; anything printable and short is accepted (the simulator's ids). */
export function readAppId(value: unknown): string | undefined {
  const s = readString(value, 'appId', 64);
  if (s === undefined || s === '') return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(s))
    throw invalidRequest({
      en: 'appId must be letters, digits, _ or -.',
      zh: 'appId 只能包含字母、数字、_ 或 -。',
    });
  return s;
}

/** Parses a JSON body that must be an object, refusing prototype-polluting keys anywhere. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalidRequest({ en: 'The body is not valid UTF-8.', zh: '请求体不是有效的 UTF-8。' });
  }
  if (text.trim() === '') {
    throw invalidRequest({
      en: 'The body is empty; send a JSON object.',
      zh: '请求体为空，请发送一个 JSON 对象。',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v) => {
      if (FORBIDDEN_KEYS.has(key)) throw new SyntaxError('forbidden key');
      return v;
    });
  } catch (e) {
    if (e instanceof SyntaxError && e.message === 'forbidden key') {
      throw invalidRequest({
        en: 'The body contains a __proto__, constructor or prototype key.',
        zh: '请求体含有 __proto__、constructor 或 prototype 键。',
      });
    }
    throw invalidRequest({ en: 'The body is not valid JSON.', zh: '请求体不是有效的 JSON。' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest({ en: 'The body must be a JSON object.', zh: '请求体必须是 JSON 对象。' });
  }
  return value as Record<string, unknown>;
}
