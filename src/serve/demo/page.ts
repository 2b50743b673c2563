/**
 * The sandbox demo page served at `/`: plain HTML and inline JS, no framework. It loads the browser
 * helper from `/jssdk/client.js` and the simulator's `/jweixin.js`, configures the JS-SDK through the
 * service and shows each step's state.
 */
export interface DemoPageOptions {
  /** The simulator's base URL (serves `/jweixin.js`). */
  simulatorUrl: string;
  appId: string;
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export function demoPage(options: DemoPageOptions): string {
  const sdkUrl = JSON.stringify(`${options.simulatorUrl}/jweixin.js`).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wxkit sandbox</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; } code { background: #f3f3f3; padding: 0 .25em; }
  .state { padding: .6rem .8rem; border-radius: 6px; background: #f5f5f5; margin: .5rem 0; }
  .ok { background: #e7f7ea; } .fail { background: #fdecec; }
  pre { white-space: pre-wrap; word-break: break-all; font-size: 13px; }
  button { font: inherit; padding: .3rem .9rem; }
</style>
</head>
<body>
<h1>wxkit sandbox</h1>
<p>This page runs against the offline WeChat simulator (account <code>${escapeHtml(options.appId)}</code>).
It asks this service to sign its URL (<code>/jssdk/config</code>) and calls <code>wx.config</code> with the
simulator's JS-SDK, which verifies the signature exactly as WeChat does.</p>
<section id="jssdk">
  <h2>JS-SDK</h2>
  <div id="config-state" class="state" data-state="pending">wx.config: configuring…</div>
  <pre id="config-detail"></pre>
  <button id="reconfigure" type="button">Configure again</button>
</section>
<script src="/jssdk/client.js"></script>
<script>
(function () {
  var stateEl = document.getElementById('config-state');
  var detailEl = document.getElementById('config-detail');
  function show(state, text, detail) {
    stateEl.dataset.state = state;
    stateEl.className = 'state ' + (state === 'ready' ? 'ok' : state === 'error' ? 'fail' : '');
    stateEl.textContent = text;
    detailEl.textContent = detail ? JSON.stringify(detail, null, 2) : '';
  }
  function run() {
    show('pending', 'wx.config: configuring…');
    if (!window.wxkit) {
      show('error', 'The browser helper did not load (is dist/client.global.js built?).');
      return;
    }
    window.wxkit
      .configure({ sdkUrl: ${sdkUrl}, jsApiList: ['chooseImage', 'uploadImage', 'getLocalImgData'] })
      .then(function () { show('ready', 'wx.config: ready — the signature was accepted.'); })
      .catch(function (e) {
        show('error', 'wx.config failed: ' + (e && (e.errMsg || e.message)), { code: e && e.code, hint: e && e.hint, diagnosis: e && e.diagnosis });
      });
  }
  document.getElementById('reconfigure').addEventListener('click', run);
  run();
})();
</script>
</body>
</html>
`;
}
