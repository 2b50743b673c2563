import type { UrlMode, Wx } from './types.ts';

type Win = Window & { wx?: Wx; __wxjs_is_wkwebview?: boolean; __wxkitSdkUrl?: string };

const win = (typeof window === 'undefined' ? undefined : window) as Win | undefined;

const strip = (url: string): string => url.split('#')[0] as string;

function navigationUrl(): string | undefined {
  try {
    const entry = performance.getEntriesByType('navigation')[0];
    return entry?.name ? entry.name : undefined;
  } catch {
    return undefined;
  }
}

// The navigation entry names the URL the document was loaded with even when this script is loaded
// after a pushState; location.href at load time is the fallback for WebViews without it.
const landing = win ? strip(navigationUrl() || win.location.href) : '';

/** The URL the page was loaded with, before any `pushState`, without the hash. */
export function landingUrl(): string {
  return landing;
}

/** True inside iOS WeChat (`window.__wxjs_is_wkwebview`, set by the WebView, or the user agent). */
export function isIOSWeChat(): boolean {
  if (!win) return false;
  const ua = win.navigator.userAgent;
  return win.__wxjs_is_wkwebview === true || (/iPhone|iPad|iPod/i.test(ua) && /MicroMessenger/i.test(ua));
}

/**
 * The WeChat client the page runs in: `ios` (verifies a single-page app's landing URL), `android`, or
 * `other` (not WeChat, or a client that does not say).
 */
export function clientPlatform(): 'ios' | 'android' | 'other' {
  if (!win) return 'other';
  if (isIOSWeChat()) return 'ios';
  const ua = win.navigator.userAgent;
  return /Android/i.test(ua) && /MicroMessenger/i.test(ua) ? 'android' : 'other';
}

/** The URL WeChat will verify for `wx.config` under `mode`. */
export function signUrl(mode: UrlMode = 'auto'): string {
  const current = strip((win as Win).location.href);
  if (mode === 'current') return current;
  if (mode === 'landing') return landing;
  return isIOSWeChat() ? landing : current;
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const el = document.createElement('script');
    el.src = src;
    el.onload = () => resolve();
    el.onerror = () => reject(new Error(`Could not load the JS-SDK from ${src}`));
    document.head.appendChild(el);
  });
}

let loading: Promise<Wx> | undefined;

/**
 * `window.wx` if it is the JS-SDK: an object with a `config` function.
 *
 * Stops DOM clobbering: `<img name="wx">` or `<a id="wx">` in user HTML (kept by sanitizers) makes
 * `window.wx` an element, and the helper would call it instead of loading the SDK.
 */
function sdkOf(w: Win): Wx | undefined {
  const wx: unknown = w.wx;
  return typeof wx === 'object' && wx !== null && typeof (wx as Wx).config === 'function'
    ? (wx as Wx)
    : undefined;
}

/**
 * The SDK URL a sandbox `wxkit serve` set in client.js (`window.__wxkitSdkUrl`), only if it is a string.
 *
 * Stops DOM clobbering into XSS: `<a id="__wxkitSdkUrl" href="https://evil/x.js">` in user HTML makes
 * the global an anchor whose string value is its href, which would be loaded as the page's script.
 */
function sandboxSdkUrl(w: Win): string | undefined {
  const url: unknown = w.__wxkitSdkUrl;
  return typeof url === 'string' ? url : undefined;
}

/** `window.wx`, loading the JS-SDK script (then its fallback host) when it is absent. */
export function loadSdk(sdkUrl?: string, fallbackUrl?: string): Promise<Wx> {
  const w = win as Win;
  const present = sdkOf(w);
  if (present) return Promise.resolve(present);
  if (!loading) {
    loading = loadScript(sdkUrl || sandboxSdkUrl(w) || 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js')
      .catch(() => loadScript(fallbackUrl || 'https://res2.wx.qq.com/open/js/jweixin-1.6.0.js'))
      .then(() => {
        const wx = sdkOf(w);
        if (!wx) throw new Error('The JS-SDK script loaded but did not define window.wx');
        return wx;
      });
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}
