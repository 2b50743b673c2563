import { readPlatformJson } from '../credentials/upstream.ts';
import { categoryOf, describeErrcode } from '../errcodes.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';

/**
 * WeCom answers every API with `{errcode, errmsg, …}` (errcode 0 on success), HTTP 200 either way. These
 * read such an answer and turn an errcode into a {@link WxkitError} read in WeCom's errcode table.
 */

/** The JSON object of a WeCom answer, or an `upstream_unavailable` when it is not one. */
export function readWecomJson(res: Response, what: string): Promise<Record<string, unknown>> {
  return readPlatformJson(res, what, 'WeCom');
}

/** The errcode of a WeCom answer, when it is an error. */
export function wecomErrcode(body: Record<string, unknown>): number | undefined {
  const errcode = typeof body.errcode === 'number' ? body.errcode : Number(body.errcode ?? 0);
  if (!Number.isFinite(errcode)) return -1;
  return errcode === 0 ? undefined : errcode;
}

/**
 * The error for a WeCom errcode: busy and frequency limits are `upstream_unavailable` (503, retried
 * later), an invalid user code is `unauthorized` (401), everything else `wechat_error` (502).
 */
export function wecomError(body: Record<string, unknown>, what: string): WxkitError {
  const errcode = wecomErrcode(body) ?? -1;
  const errmsg = typeof body.errmsg === 'string' ? body.errmsg.slice(0, 300) : '';
  const info = describeErrcode(errcode, 'wecom');
  const category = categoryOf(errcode, 'wecom');
  const name = info?.name ?? errmsg;
  const options = { errcode, errmsg, platform: 'wecom' as const };
  if (category === 'transient' || category === 'rate-limit') {
    return new WxkitError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `WeCom refused the ${what} request: ${errcode} ${name}`,
      {
        ...options,
        retryAfter: category === 'rate-limit' ? 60 : 1,
      },
    );
  }
  if (category === 'user-auth') {
    return new WxkitError(
      ErrorCodes.UNAUTHORIZED,
      `WeCom refused the ${what} request: ${errcode} ${name}`,
      options,
    );
  }
  return new WxkitError(
    ErrorCodes.WECHAT_ERROR,
    `WeCom refused the ${what} request: ${errcode} ${name}`,
    options,
  );
}
