import type { NextFunction, Request, Response } from 'express';
import type { HandlerOptions, WxkitHandler } from '../http/handler.ts';
import type { Account } from '../types.ts';
import { handleNode, toHandler } from './node.ts';

/**
 * The wxkit service as Express middleware. Mount it at the root or under a path; requests no wxkit route
 * matches go on to the next middleware. Works before or after `express.json()`.
 *
 * @example
 * import express from 'express'
 * import { createWxkit } from 'wxkit'
 * import { createExpressMiddleware } from 'wxkit/express'
 * const app = express()
 * app.use('/wx', createExpressMiddleware(createWxkit({ appId, secret, jsDomains: ['h5.example.com'] })))
 */
export function createExpressMiddleware(
  wxkit: Account | readonly Account[] | WxkitHandler,
  options?: HandlerOptions,
): (req: Request, res: Response, next: NextFunction) => void {
  const handler = toHandler(wxkit, options);
  return (req, res, next) => {
    handleNode(handler, req, res, { passThrough: true, parsedBody: req.body, mountPath: req.baseUrl }).then(
      (handled) => {
        if (!handled) next();
      },
      (e: unknown) => next(e),
    );
  };
}
