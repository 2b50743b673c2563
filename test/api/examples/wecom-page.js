// docs/wecom.md "From a page", verbatim inside a function; test/browser/wecom.test.ts runs it in Chromium
// on a WeCom page (endpoint: the wxkit service's origin, corpId: the simulated corp).
async function wecomExample(endpoint, corpId) {
try {
  // wx.config (the corp's ticket), then wx.agentConfig (the app's ticket): resolves after both
  const wx = await wxkit.configure({ endpoint, appId: corpId, agent: true, jsApiList: ['getCurExternalContact'] });
  wx.invoke('getCurExternalContact', {}, (res) => console.log(res.err_msg, res.userId));
} catch (e) {
  // e.step: 'config' or 'agentConfig'; e.diagnosis.code: e.g. 'wrong_ticket_kind'
  console.error(e.step, e.errMsg, e.diagnosis && e.diagnosis.code, e.message);
}
  return new Promise((resolve) => window.wx.invoke('getCurExternalContact', {}, resolve));
}
