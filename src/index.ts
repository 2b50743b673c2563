export type { AccountOptions } from './accounts/options.ts';
export type { WecomInstance, WecomOptions } from './accounts/wecom.ts';
export { createWecom } from './accounts/wecom.ts';
export type {
  WecomAuthorizeUrlInput,
  WecomOAuthClient,
  WecomOAuthScope,
  WecomUser,
} from './accounts/wecom-oauth.ts';
export type {
  BuildCardExtInput,
  BuildChooseCardSignInput,
  CardExtInput,
  ChooseCardSign,
  ChooseCardSignInput,
} from './cards.ts';
export { buildCardExt, buildChooseCardSign, cardSignature } from './cards.ts';
export type { AccountConfig, WecomAccountConfig, WxkitConfig, WxkitConfigFile } from './config.ts';
export { accountOptions, loadConfig, wecomOptions } from './config.ts';
export type { CustodyTiming } from './credentials/custody.ts';
export type {
  ClientPlatform,
  DiagnoseInput,
  Diagnosis,
  DiagnosisCause,
  DiagnosisCode,
  KnownTicket,
} from './diagnose.ts';
export { DIAGNOSIS_CODES, diagnoseSignature } from './diagnose.ts';
export type { DomainMismatch, JsDomain, MatchJsDomainOptions } from './domains.ts';
export { formatJsDomains, isLoopbackHost, matchJsDomain, parseJsDomains } from './domains.ts';
export type { ErrcodeAction, ErrcodeCategory, ErrcodeInfo, ErrcodePlatform } from './errcodes.ts';
export { actionFor, categoryOf, describeErrcode, ERRCODES, WECOM_ERRCODES } from './errcodes.ts';
export type { ErrorCode, Hint, WxkitErrorOptions } from './errors.ts';
export { ErrorCodes, isWxkitError, WxkitError } from './errors.ts';
export type { ForwardAnswer, ForwardOptions } from './forward.ts';
export { FORWARD_SIGNATURE_HEADER, forwardSignature, verifyForwardSignature } from './forward.ts';
export { buildAuthorizeUrl, DEFAULT_OPEN_BASE } from './oauth/authorize.ts';
export type { OAuthClientOptions } from './oauth/client.ts';
export { createOAuthClient } from './oauth/client.ts';
export type { OAuthRequestContext } from './oauth/requests.ts';
export {
  authCheckRequest,
  codeExchangeRequest,
  refreshTokenRequest,
  userinfoRequest,
} from './oauth/requests.ts';
export {
  processAuthCheckResponse,
  processTokenResponse,
  processUserinfoResponse,
} from './oauth/responses.ts';
export type { OAuthStore } from './oauth/store.ts';
export type {
  AuthorizeUrlInput,
  CheckAccessTokenInput,
  OAuthClient,
  OAuthLang,
  OAuthScope,
  OAuthToken,
  OAuthUserinfo,
  UserinfoInput,
} from './oauth/types.ts';
export { OAUTH_SCOPES } from './oauth/types.ts';
export type { PlatformMessageHandler, PlatformMessagesOptions } from './platform/messages.ts';
export type {
  AuthorizeLinkInput,
  Platform,
  PlatformOptions,
  PlatformStatus,
  SyncReport,
} from './platform/platform.ts';
export { createPlatform } from './platform/platform.ts';
export { isReleaseTestAccount, RELEASE_TEST_APP_IDS } from './platform/release-check.ts';
export type { VerifyTicketHealth } from './platform/verify-ticket.ts';
export type { BuildJssdkConfigInput, JssdkConfig, SignInput } from './signature.ts';
export {
  buildJssdkConfig,
  createNonce,
  createTimestamp,
  jssdkString1,
  normalizeSignUrl,
  signJssdk,
} from './signature.ts';
export type { IndexedStore, Store } from './stores/types.ts';
export type {
  Account,
  AccountStatus,
  AccountType,
  AgentConfig,
  AgentConfigInput,
  BreakerState,
  BreakerStatus,
  CallOptions,
  CredentialStatus,
  CredentialValue,
  DownloadedMedia,
  JssdkConfigInput,
  TicketType,
  TokenMode,
  Wecom,
  WecomJssdkConfig,
  WecomStatus,
  WecomTicketType,
  Wxkit,
  WxkitStatus,
} from './types.ts';
export type { WxkitInstance, WxkitLogger, WxkitOptions } from './wxkit.ts';
export { createWxkit } from './wxkit.ts';
