// What a failed chooseWXPay means (POST /pay/diagnose, used by wxkit.pay()).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnosePayment, pageDirectory } from '../../src/pay/diagnose.ts';

test('each usual cause is named, with the directory to register for the pay-directory case', () => {
  const dir = pageDirectory('http://h5.example.com/shop/item.html?id=1#top');
  assert.equal(dir, 'http://h5.example.com/shop/');
  const cases: Array<[string, string]> = [
    ['chooseWXPay:fail, 当前页面的URL未注册：http://h5.example.com/shop/', 'pay_directory'],
    ['chooseWXPay:fail, appid和mch_id不匹配 (the order is for wxA, wx.config used wxB)', 'app_id_mismatch'],
    ['The order is already paid.', 'order_paid'],
    ['chooseWXPay:fail, 订单已过期，请重新下单 (prepay_id expired)', 'order_expired'],
    ['The order is more than 2 hours old; its prepay_id has expired.', 'order_expired'],
    ['chooseWXPay:fail, 支付验证签名失败', 'pay_sign'],
    ['No such order for the logged-in user.', 'order_not_found'],
    ['chooseWXPay:fail', 'unknown'],
  ];
  for (const [text, reason] of cases) assert.equal(diagnosePayment(text, dir).reason, reason, text);
  const d = diagnosePayment(cases[0]?.[0] ?? '', dir);
  assert.match(d.zh, /当前页面的URL未注册/);
  assert.match(d.en, /http:\/\/h5\.example\.com\/shop\//);
  assert.equal(pageDirectory('not a url'), '(the page URL)');
});
