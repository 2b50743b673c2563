import type { Browser, BrowserContext, Page } from 'playwright-core';
import type * as Client from '../../src/client/index.ts';
import type { ConfigureOptions } from '../../src/client/index.ts';

/** `window.wxkit` as the IIFE defines it. */
export type ClientApi = typeof Client;

/** What a configure() call in the page ended with, in plain data. */
export interface ConfigureOutcome {
  ok: boolean;
  message?: string;
  errMsg?: string;
  realAuthUrl?: string;
  code?: string;
  status?: number;
  diagnosis?: { code?: string; en?: string; expectedUrl?: string } | undefined;
}

/** A fresh context (cookies, storage) and page at `url`. */
export async function openPage(
  browser: Browser,
  url: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  return { context, page };
}

/** Runs `wxkit.configure(options)` in the page. */
export function configureIn(page: Page, options: ConfigureOptions): Promise<ConfigureOutcome> {
  return page.evaluate(async (o) => {
    const api = (window as unknown as { wxkit: ClientApi }).wxkit;
    try {
      await api.configure(o);
      return { ok: true };
    } catch (e) {
      const err = e as Client.WxkitClientError;
      return {
        ok: false,
        message: err.message,
        errMsg: err.errMsg,
        realAuthUrl: err.realAuthUrl,
        code: err.code,
        status: err.status,
        diagnosis: err.diagnosis as ConfigureOutcome['diagnosis'],
      } as ConfigureOutcome;
    }
  }, options);
}
