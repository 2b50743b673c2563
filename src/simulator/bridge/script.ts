import type { SimPlatform } from '../state.ts';

/**
 * The simulator's `/jweixin.js`: a drop-in for `jweixin-1.6.0.js` that defines `window.wx` and
 * `window.jWeixin`. Every check happens in the simulator (`/__sim/bridge/*`); the script finds the
 * simulator from its own `src`, so page, service and simulator may sit on three origins. The
 * platform is fixed when the script is served, as a WebView's is: on iOS it sets
 * `window.__wxjs_is_wkwebview` before the page's own code asks.
 *
 * Kept as plain ES5 text (not compiled) so it is served byte-for-byte the same from source and dist.
 */
const SOURCE = `(function (window, document) {
  'use strict';
  if (window.jWeixin) return;
  var PLATFORM = __PLATFORM__;
  var script = document.currentScript;
  var base = __BASE__;
  try { if (script && script.src) base = new URL(script.src, location.href).origin; } catch (e) {}
  if (PLATFORM === 'ios') window.__wxjs_is_wkwebview = true;
  var landing = location.href;
  try {
    var nav = performance.getEntriesByType('navigation')[0];
    if (nav && nav.name) landing = nav.name;
  } catch (e) {}

  var state = 0, data = null, completes = [], onFail = null, allowed = {}, token = null;
  var debug = false, seq = 0, uploading = false, share = {};

  function log(name, res) {
    if (debug) console.log('[wx simulator] ' + name + ' ' + JSON.stringify(res));
  }
  function post(path, body) {
    return fetch(base + '/__sim/bridge/' + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json(); });
  }
  function later(fn) { setTimeout(fn, 0); }

  function invoke(name, args, run, open) {
    args = args || {};
    function done(res) {
      log(name, res);
      var status = res.errMsg.slice(name.length + 1);
      if (status === 'ok') { if (args.success) args.success(res); }
      else if (status === 'cancel' && args.cancel) args.cancel(res);
      else if (args.fail) args.fail(res);
      if (args.complete) args.complete(res);
    }
    if (!open) {
      if (state === 0) return later(function () { done({ errMsg: name + ':the permission value is offline verifying' }); });
      if (state !== 1 || !allowed[name]) return later(function () { done({ errMsg: name + ':permission denied' }); });
    }
    run(args, done, function (path, body) {
      body.token = token;
      return post(path, body).then(function (res) {
        if (res.errMsg) done({ errMsg: name + ':' + res.errMsg });
        return res;
      }, function () { done({ errMsg: name + ':fail, network error' }); return {}; });
    });
  }
  function simple(name, extra) {
    return function (args) {
      invoke(name, args, function (a, done) {
        if (name.indexOf('Share') !== -1 || name.indexOf('onMenuShare') === 0) share[name] = a;
        later(function () {
          var res = { errMsg: name + ':ok' };
          for (var k in extra || {}) res[k] = extra[k];
          done(res);
        });
      });
    };
  }

  var wx = {
    config: function (c) {
      c = c || {};
      var mine = ++seq;
      state = 0; data = null; token = null; allowed = {};
      debug = c.debug === true;
      post('config', {
        appId: c.appId, timestamp: c.timestamp, nonceStr: c.nonceStr, signature: c.signature,
        debug: debug, url: location.href, landingUrl: landing, platform: PLATFORM
      }).then(null, function () { return { errMsg: 'config:fail, network error' }; }).then(function (res) {
        if (mine !== seq) return;
        log('config', res);
        if (res.errMsg === 'config:ok') {
          state = 1; token = res.token;
          (c.jsApiList || []).forEach(function (n) { allowed[n] = true; });
        } else {
          state = -1;
          data = { errMsg: res.errMsg };
          if (res.realAuthUrl) data.realAuthUrl = res.realAuthUrl;
          if (onFail) onFail(data);
        }
        // As jweixin does, ready() callbacks run once config has an answer, even a failed one.
        var queue = completes; completes = [];
        queue.forEach(function (fn) { fn(); });
      });
    },
    // WeCom: verified against the app's agent_config ticket. Called while wx.config is still pending it
    // waits for config's answer (the simulator then refuses it when config failed, as older WeCom clients do).
    agentConfig: function (c) {
      c = c || {};
      function done(res) {
        log('agentConfig', res);
        if (res.errMsg === 'agentConfig:ok') { if (c.success) c.success(res); }
        else if (c.fail) c.fail(res);
        if (c.complete) c.complete(res);
      }
      function run() {
        post('agent-config', {
          token: token, corpid: c.corpid, agentid: c.agentid, timestamp: c.timestamp, nonceStr: c.nonceStr,
          signature: c.signature, jsApiList: c.jsApiList || [], debug: debug, url: location.href,
          landingUrl: landing, platform: PLATFORM
        }).then(null, function () { return { errMsg: 'agentConfig:fail, network error' }; }).then(done);
      }
      if (state === 0 && seq > 0) completes.push(run); else run();
    },
    // WeCom's wx.invoke(name, args, callback): the agent-only APIs answer in res.err_msg.
    invoke: function (name, args, cb) {
      post('invoke', { token: token, name: name, args: args || {} }).then(null, function () {
        return { err_msg: name + ':fail, network error' };
      }).then(function (res) { log(name, res); if (typeof cb === 'function') cb(res); });
    },
    ready: function (fn) { if (state !== 0) fn(); else completes.push(fn); },
    error: function (fn) { if (state === -1) fn(data); else onFail = fn; },
    checkJsApi: function (args) {
      invoke('checkJsApi', args, function (a, done) {
        var result = {};
        ((a && a.jsApiList) || []).forEach(function (n) { result[n] = typeof wx[n] === 'function'; });
        later(function () { done({ errMsg: 'checkJsApi:ok', checkResult: result }); });
      }, true);
    },
    chooseImage: function (args) {
      invoke('chooseImage', args, function (a, done, call) {
        var count = Math.max(1, Math.min(9, Number(a.count) || 9));
        call('choose', { count: count, platform: PLATFORM }).then(function (res) {
          if (res.localIds) done({ errMsg: 'chooseImage:ok', localIds: res.localIds, sourceType: 'album' });
        });
      });
    },
    getLocalImgData: function (args) {
      invoke('getLocalImgData', args, function (a, done, call) {
        call('local', { localId: a.localId, platform: PLATFORM }).then(function (res) {
          if (res.localData) done({ errMsg: 'getLocalImgData:ok', localData: res.localData });
        });
      });
    },
    uploadImage: function (args) {
      invoke('uploadImage', args, function (a, done, call) {
        if (uploading) return later(function () { done({ errMsg: 'uploadImage:fail, the previous upload has not finished' }); });
        uploading = true;
        call('upload', { localId: a.localId }).then(function (res) {
          uploading = false;
          if (res.serverId) done({ errMsg: 'uploadImage:ok', serverId: res.serverId });
        });
      });
    }
  };
  ['updateAppMessageShareData', 'updateTimelineShareData', 'onMenuShareAppMessage', 'onMenuShareTimeline',
   'previewImage', 'hideMenuItems', 'showMenuItems', 'hideAllNonBaseMenuItem', 'showAllNonBaseMenuItem',
   'hideOptionMenu', 'showOptionMenu', 'closeWindow'].forEach(function (n) { wx[n] = simple(n); });
  wx.getNetworkType = simple('getNetworkType', { networkType: 'wifi' });
  // Cards (卡券): the simulator checks cardSign / cardExt's signature against its wx_card ticket.
  wx.chooseCard = function (args) {
    invoke('chooseCard', args, function (a, done, call) {
      call('card/choose', {
        shopId: a.shopId, cardType: a.cardType, cardId: a.cardId, timestamp: a.timestamp,
        nonceStr: a.nonceStr, signType: a.signType, cardSign: a.cardSign
      }).then(function (res) { if (!res.errMsg) done({ errMsg: 'chooseCard:ok', cardList: res.cardList }); });
    });
  };
  wx.addCard = function (args) {
    invoke('addCard', args, function (a, done, call) {
      call('card/add', { cardList: a.cardList || [] }).then(function (res) {
        if (!res.errMsg) done({ errMsg: 'addCard:ok', cardList: res.cardList });
      });
    });
  };
  // WeChat Pay's cashier: as jweixin does, the payment runs for the appId of wx.config; the simulator
  // checks the pay directory, the prepay_id and paySign, then plays the outcome the test chose.
  wx.chooseWXPay = function (args) {
    invoke('chooseWXPay', args, function (a, done, call) {
      call('pay', {
        timestamp: a.timestamp, nonceStr: a.nonceStr, package: a.package, signType: a.signType,
        paySign: a.paySign, url: location.href
      }).then(function (res) { if (res.paid) done({ errMsg: 'chooseWXPay:ok' }); });
    });
  };
  wx.__simulator = { platform: PLATFORM, base: base, landingUrl: landing, share: share };
  window.wx = window.jWeixin = wx;
})(window, document);
`;

/** The script for a page on `platform`, falling back to `baseUrl` when it cannot read its own src. */
export function bridgeScript(platform: SimPlatform, baseUrl: string): string {
  return SOURCE.replace('__PLATFORM__', JSON.stringify(platform)).replace(
    '__BASE__',
    JSON.stringify(baseUrl),
  );
}
