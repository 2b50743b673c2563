import { escapeHtml } from '../../http/html.ts';
import { demoLoginSection } from './login.ts';
import { demoPaySection } from './pay.ts';

/**
 * The sandbox demo page served at `/`: plain HTML and inline JS, no framework. It loads the browser
 * helper from `/jssdk/client.js` and the simulator's `/jweixin.js`, configures the JS-SDK through the
 * service, then chooses → uploads → saves images, showing each step's state (`data-state` on each
 * `.state` element: idle, pending, ok, error — the browser tests read it). Every text is Chinese first,
 * then English (`t(zh, en)` in the script). A new section (the way `demoLoginSection()` is one) is a
 * function returning its HTML and inline script, added after the others; it may use `show`/`t` from
 * `window.wxkitDemo` and listen for the `wxkit-demo-ready` event (fired once wx.config succeeded).
 */
export interface DemoPageOptions {
  /** The simulator's base URL (serves `/jweixin.js`). */
  simulatorUrl: string;
  appId: string;
}

export function demoPage(options: DemoPageOptions): string {
  const sdkUrl = JSON.stringify(`${options.simulatorUrl}/jweixin.js`).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wxkit 沙箱 / wxkit sandbox</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; } code { background: #f3f3f3; padding: 0 .25em; }
  .state { padding: .45rem .8rem; border-radius: 6px; background: #f5f5f5; margin: .35rem 0; }
  .state[data-state=ok] { background: #e7f7ea; } .state[data-state=error] { background: #fdecec; }
  .state[data-state=pending] { background: #fff7e0; }
  pre { white-space: pre-wrap; word-break: break-all; font-size: 13px; }
  button { font: inherit; padding: .3rem .9rem; margin: .3rem .3rem .3rem 0; }
  .images { display: flex; gap: .5rem; flex-wrap: wrap; min-height: 1rem; }
  .images figure { margin: 0; font-size: 11px; text-align: center; }
  .images img { width: 72px; height: 72px; border-radius: 4px; display: block; }
</style>
</head>
<body>
<h1>wxkit 沙箱 / wxkit sandbox</h1>
<p>本页面连接离线的微信模拟器（公众号 <code>${escapeHtml(options.appId)}</code>）：它请本服务为当前 URL 签名
（<code>/jssdk/config</code>），再用模拟器的 JS-SDK 调用 <code>wx.config</code>，模拟器按微信的方式校验签名。</p>
<p>This page runs against the offline WeChat simulator (account <code>${escapeHtml(options.appId)}</code>).
It asks this service to sign its URL (<code>/jssdk/config</code>) and calls <code>wx.config</code> with the
simulator's JS-SDK, which verifies the signature exactly as WeChat does.</p>

<section id="jssdk">
  <h2>1. 配置 JS-SDK / Configure the JS-SDK</h2>
  <div id="config-state" class="state" data-state="pending">wx.config：配置中… / configuring…</div>
  <pre id="config-detail"></pre>
  <button id="reconfigure" type="button">重新配置 / Configure again</button>
</section>

<section id="share">
  <h2>2. 分享卡片 / Share card</h2>
  <div id="share-state" class="state" data-state="idle">wx.updateAppMessageShareData、updateTimelineShareData：等待 wx.config / waiting for wx.config</div>
</section>

<section id="media">
  <h2>3. 选图 → 上传 → 保存 / Choose → upload → save images</h2>
  <button id="run-images" type="button" disabled>选择 3 张图片并上传 / Choose 3 images and upload them</button>
  <div id="choose-state" class="state" data-state="idle">wx.chooseImage：未开始 / not started</div>
  <div id="chosen" class="images"></div>
  <div id="upload-state" class="state" data-state="idle">wx.uploadImage（逐张上传 / one at a time）：未开始 / not started</div>
  <div id="save-state" class="state" data-state="idle">POST /jssdk/media（服务从微信下载每张图片 / the service downloads each from WeChat）：未开始 / not started</div>
  <div id="saved" class="images"></div>
</section>
${demoLoginSection()}
${demoPaySection()}

<script src="/jssdk/client.js"></script>
<script>
(function () {
  var kit = window.wxkit;
  var $ = function (id) { return document.getElementById(id); };
  // Chinese first, then English: every line of this page.
  function t(zh, en) { return zh + ' / ' + en; }
  function show(id, state, text) {
    var el = $(id);
    el.dataset.state = state;
    el.textContent = text;
  }
  // The helper's errors carry zh and en; a plain Error only its message.
  function why(e) { return e.errMsg && !e.zh ? e.errMsg : e.zh ? t(e.zh, e.en) : e.message; }
  window.wxkitDemo = { show: show, t: t, why: why };
  function figure(target, src, caption) {
    var f = document.createElement('figure');
    var img = document.createElement('img');
    img.src = src;
    img.alt = caption;
    f.appendChild(img);
    f.appendChild(document.createTextNode(caption));
    $(target).appendChild(f);
  }
  function configure() {
    show('config-state', 'pending', t('wx.config：配置中…', 'wx.config: configuring…'));
    $('config-detail').textContent = '';
    if (!kit) {
      show('config-state', 'error', t('浏览器助手未加载（dist/client.global.js 是否已构建？）', 'The browser helper did not load (is dist/client.global.js built?).'));
      return;
    }
    kit
      .configure({
        sdkUrl: ${sdkUrl},
        jsApiList: ['updateAppMessageShareData', 'updateTimelineShareData', 'chooseImage', 'uploadImage', 'getLocalImgData', 'previewImage', 'chooseWXPay'],
      })
      .then(function () {
        show('config-state', 'ok', t('wx.config：就绪——' + kit.signUrl() + ' 的签名已通过校验。', 'wx.config: ready — the signature of ' + kit.signUrl() + ' was accepted.'));
        $('run-images').disabled = false;
        share();
        document.dispatchEvent(new Event('wxkit-demo-ready'));
      })
      .catch(function (e) {
        show('config-state', 'error', why(e));
        $('config-detail').textContent = JSON.stringify({ code: e.code, hint: e.hint, diagnosis: e.diagnosis }, null, 2);
      });
  }
  // What a share to a chat or to Moments shows: the most common reason a page calls wx.config.
  function share() {
    var card = { title: 'wxkit sandbox', link: location.href.split('#')[0], imgUrl: new URL('/favicon.ico', location.href).href };
    show('share-state', 'pending', t('wx.updateAppMessageShareData：设置中…', 'wx.updateAppMessageShareData: setting…'));
    kit
      .call('updateAppMessageShareData', Object.assign({ desc: t('由 wxkit 签名，模拟器校验', 'Signed by wxkit, verified by the simulator') }, card))
      .then(function () { return kit.call('updateTimelineShareData', card); })
      .then(function () {
        show('share-state', 'ok', t('分享卡片已设置：“' + card.title + '” → ' + card.link + '（聊天与朋友圈）', 'Share card set: “' + card.title + '” → ' + card.link + ' (chat and Moments)'));
      })
      .catch(function (e) { show('share-state', 'error', t('设置分享卡片失败', 'Share card failed') + ': ' + why(e)); });
  }
  function images() {
    var count = 3;
    $('run-images').disabled = true;
    $('chosen').textContent = '';
    $('saved').textContent = '';
    show('upload-state', 'idle', t('wx.uploadImage（逐张上传）：等待中', 'wx.uploadImage (one at a time): waiting'));
    show('save-state', 'idle', t('POST /jssdk/media：等待中', 'POST /jssdk/media: waiting'));
    show('choose-state', 'pending', t('wx.chooseImage：选择 ' + count + ' 张图片…', 'wx.chooseImage: choosing ' + count + ' images…'));
    var step = 'choose-state';
    kit
      .call('chooseImage', { count: count, sizeType: ['compressed'], sourceType: ['album'] })
      .then(function (res) {
        show('choose-state', 'ok', t('wx.chooseImage：' + res.localIds.length + ' 个 localId', 'wx.chooseImage: ' + res.localIds.length + ' local ids'));
        return res.localIds.reduce(function (p, localId) {
          return p.then(function () {
            return kit.call('getLocalImgData', { localId: localId }).then(function (d) {
              var data = d.localData.indexOf('data:') === 0 ? d.localData : 'data:image/png;base64,' + d.localData;
              figure('chosen', data, localId.slice(-6));
            });
          });
        }, Promise.resolve()).then(function () { return res.localIds; });
      })
      .then(function (localIds) {
        step = 'upload-state';
        show(step, 'pending', t('wx.uploadImage：逐张上传 ' + localIds.length + ' 张图片…', 'wx.uploadImage: uploading ' + localIds.length + ' images, one at a time…'));
        return kit.uploadImages(localIds);
      })
      .then(function (serverIds) {
        show('upload-state', 'ok', t('wx.uploadImage：' + serverIds.length + ' 个 serverId（媒体 id，有效 3 天）', 'wx.uploadImage: ' + serverIds.length + ' serverIds (media ids, valid 3 days)'));
        step = 'save-state';
        show(step, 'pending', t('POST /jssdk/media：保存中…', 'POST /jssdk/media: saving…'));
        var saved = [];
        return serverIds.reduce(function (p, serverId) {
          return p.then(function () {
            return kit.saveMedia(serverId).then(function (m) {
              saved.push(m);
              figure('saved', m.url, m.size + ' B');
            });
          });
        }, Promise.resolve()).then(function () { return saved; });
      })
      .then(function (saved) {
        show('save-state', 'ok', t('POST /jssdk/media：服务已保存 ' + saved.length + ' 个文件（见下方）', 'POST /jssdk/media: ' + saved.length + ' files saved by the service (shown below)'));
      })
      .catch(function (e) {
        show(step, 'error', t('失败', 'Failed') + ': ' + why(e));
      })
      .then(function () { $('run-images').disabled = false; });
  }
  $('reconfigure').addEventListener('click', configure);
  $('run-images').addEventListener('click', images);
  configure();
})();
</script>
</body>
</html>
`;
}
