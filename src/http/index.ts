export type { HandlerOptions, RequestInfo, WxkitHandler } from './handler.ts';
export { createHandler } from './handler.ts';
export type { LogEntry, LogSink } from './log.ts';
export type { RateLimitOptions } from './rate-limit.ts';
export type { Reply } from './reply.ts';
export { json } from './reply.ts';
export type { HttpInput, ResolvedHandlerOptions, Route, RouteContext, RouteResult } from './route.ts';
