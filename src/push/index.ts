export type { PushFields, PushFormat } from './body.ts';
export { bodyFormat, readBody } from './body.ts';
export type { Decrypted, EncryptOptions, PushCrypto, PushCryptoOptions } from './crypto.ts';
export { createPushCrypto } from './crypto.ts';
export { customSendBody } from './deliver.ts';
export type { OnMessageResult, PushContext, PushHandlerOptions, PushRequest } from './endpoint.ts';
export { PushEndpoint } from './endpoint.ts';
export type { OpenedPush, OpenedReply, OpenOptions, SealedPush, SealOptions } from './envelope.ts';
export { openPush, openReply, randomNonce, sealPush, sealReply } from './envelope.ts';
export type { PushErrorReason } from './errors.ts';
export { PushError, PushErrorReasons } from './errors.ts';
export type { CreatePushHandlerOptions, PushHandler } from './handler.ts';
export { createPushHandler } from './handler.ts';
export type {
  ClickEvent,
  ImageMessage,
  LinkMessage,
  LocationEvent,
  LocationMessage,
  MassSendJobFinishEvent,
  MenuMediaEvent,
  OtherPush,
  PushMessage,
  PushMessageBase,
  PushMessageType,
  ScanEvent,
  ShortVideoMessage,
  SubscribeEvent,
  TemplateSendJobFinishEvent,
  TextMessage,
  UnsubscribeEvent,
  VideoMessage,
  ViewEvent,
  ViewMiniprogramEvent,
  VoiceMessage,
} from './message.ts';
export { parseMessage } from './message.ts';
export type { NewsArticle, ParsedReply, PushReply, PushReplyType, RenderOptions } from './reply.ts';
export { parseReply, renderReply, reply, toReply } from './reply.ts';
export { pushSignature } from './signature.ts';
export type { QueryLike } from './url-verification.ts';
export { verifyUrl, verifyWecomUrl } from './url-verification.ts';
export type { ReadXmlOptions, XmlInput, XmlInputObject, XmlObject, XmlValue } from './xml.ts';
export { readXml, writeXml } from './xml.ts';
