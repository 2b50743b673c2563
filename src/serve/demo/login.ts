/**
 * The demo page's login section: "用微信登录 / Log in with WeChat" through the service's
 * `/oauth/login`, the simulator's consent page, and back; then `/oauth/me` shows the user. Inline
 * script, no framework; every value reaches the page through `textContent`.
 */
export function demoLoginSection(): string {
  return `<style>
  #login-state { padding: .6rem .8rem; border-radius: 6px; background: #f5f5f5; margin: .5rem 0; }
  #login-state.ok { background: #e7f7ea; } #login-state.fail { background: #fdecec; }
</style>
<section id="login">
  <h2>网页授权 / Web OAuth</h2>
  <div id="login-state" class="login" data-state="checking">正在检查会话… / Checking the session…</div>
  <pre id="login-user"></pre>
  <p>
    <a id="wx-login" href="/oauth/login?scope=snsapi_userinfo&amp;returnTo=%2F%23login"><button type="button" tabindex="-1">用微信登录 / Log in with WeChat</button></a>
    <a id="wx-login-base" href="/oauth/login?scope=snsapi_base&amp;returnTo=%2F%23login">静默登录 / silent login (snsapi_base)</a>
    <button id="wx-logout" type="button" hidden>退出登录 / Log out</button>
  </p>
</section>
<script>
(function () {
  var stateEl = document.getElementById('login-state');
  var userEl = document.getElementById('login-user');
  var logoutEl = document.getElementById('wx-logout');
  function show(state, text, detail) {
    stateEl.dataset.state = state;
    stateEl.className = 'login ' + (state === 'logged-in' ? 'ok' : state === 'error' ? 'fail' : '');
    stateEl.textContent = text;
    userEl.textContent = detail ? JSON.stringify(detail, null, 2) : '';
    logoutEl.hidden = state !== 'logged-in';
  }
  function check() {
    if (/[?&]oauth_error=access_denied/.test(location.search)) {
      show('denied', '你拒绝了授权 / You declined the authorization.');
      return;
    }
    fetch('/oauth/me', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) { return res.json().then(function (body) { return { status: res.status, body: body }; }); })
      .then(function (r) {
        if (r.status === 200) {
          var u = r.body;
          show('logged-in', '已登录 / Logged in as ' + (u.nickname || u.openid) + ' (' + u.scope + ')', u);
        } else {
          var err = r.body && r.body.error;
          var why = err && !(err.details && err.details.reason === 'not_logged_in') ? ' — ' + (err.messageZh ? err.messageZh + ' / ' : '') + err.message : '';
          show('logged-out', '未登录 / Not logged in' + why);
        }
      })
      .catch(function (e) { show('error', '/oauth/me 失败 / failed: ' + e.message); });
  }
  logoutEl.addEventListener('click', function () {
    fetch('/oauth/logout', { method: 'POST', credentials: 'same-origin' }).then(check, check);
  });
  check();
})();
</script>`;
}
