import type { UrlMode, Wx } from './types.ts';

type Win = Window & { wx?: Wx; __wxjs_is_wkwebview?: boolean };

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

/** `window.wx`, loading the JS-SDK script (then its fallback host) when it is absent. */
export function loadSdk(sdkUrl?: string, fallbackUrl?: string): Promise<Wx> {
  const w = win as Win;
  if (w.wx) return Promise.resolve(w.wx);
  if (!loading) {
    loading = loadScript(sdkUrl || 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js')
      .catch(() => loadScript(fallbackUrl || 'https://res2.wx.qq.com/open/js/jweixin-1.6.0.js'))
      .then(() => {
        if (!w.wx) throw new Error('The JS-SDK script loaded but did not define window.wx');
        return w.wx;
      });
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}
