// docs/push.md "Protocol pieces" (and docs/zh-CN/push.md), verbatim from the import on: run by
// test/api/doc-blocks.test.ts. The values are WeChat's own sample (push.json).
import { createPushCrypto, pushSignature } from 'wxkit/push';

const crypto = createPushCrypto({ encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', receiveId: 'wx2c2769f8efd9abc2' });
const encrypt = crypto.encrypt('<xml><Content><![CDATA[hello]]></Content></xml>'); // base64, padded to 32-byte blocks
const { message, receiveId } = crypto.decrypt(encrypt); // a PushError names what is wrong: wrong_receive_id, bad_padding…
const signature = pushSignature('spamtest', '1409735669', '1320562132'); // '16120ec1b8dbb870f510d87ce6bc2463eae6ca1a'

export { message, receiveId, signature };
