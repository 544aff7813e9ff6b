/* Tally browser tag (SPEC §4.3). GET /tag.js?program=ID serves this file with the
 * program's settings in place of __TALLY_CONFIG__ at the end. No dependencies, ES2017.
 *
 * Pages call it as tally(...) or ire(...), before or after it loads:
 *   window.ire = window.ire || function () { (ire.q = ire.q || []).push(arguments); };
 *   ire('identify', {customerId, customerEmail, customProfileId});
 *   ire('trackConversion', eventTypeId, {orderId, currencyCode, items: [...]}, {callback});
 * Plain-text emails are hashed (SHA-256) here; they never leave the page in clear. */
(function (config) {
  'use strict';
  if (window.tally && window.tally.loaded) return; // included twice: the first copy runs

  const DAY_SECONDS = 86400;
  const VISITOR_DAYS = 400; // browsers cap cookie lifetimes at 400 days
  const CLICK_ID = /^[A-Za-z0-9_-]{1,64}$/;
  const scriptUrl = document.currentScript ? document.currentScript.src : location.href;
  const collectUrl = new URL(config.collect, scriptUrl).href;

  function readCookie(name) {
    const prefix = name + '=';
    const found = document.cookie.split('; ').find((pair) => pair.startsWith(prefix));
    return found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }

  // Sets a first-party cookie on the widest domain the browser accepts: browsers refuse
  // public suffixes, so that is the brand's registrable domain, shared by www. and shop.
  function writeCookie(name, value, days) {
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    const cookie = name + '=' + encodeURIComponent(value) + '; max-age=' + days * DAY_SECONDS +
      '; path=/; SameSite=Lax' + secure;
    const labels = location.hostname.split('.');
    for (let start = labels.length - 2; start > 0; start--) {
      document.cookie = cookie + '; domain=' + labels.slice(start).join('.');
      if (readCookie(name) === value) return;
    }
    document.cookie = cookie;
  }

  function hex(bytes) {
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  }

  function visitorId() {
    let id = readCookie('tally_fp');
    if (!/^[0-9a-f]{32}$/.test(id || '')) id = hex(crypto.getRandomValues(new Uint8Array(16)));
    writeCookie('tally_fp', id, VISITOR_DAYS);
    return id;
  }

  function present(value) {
    return value === '' || value === null ? undefined : value;
  }

  // A SHA-1/SHA-256 hex digest is sent as is; anything else is hashed. Without Web
  // Crypto (plain-http pages) the email is dropped rather than sent in clear.
  async function hashEmail(email) {
    if (present(email) === undefined) return undefined;
    const text = String(email).trim().toLowerCase();
    if (/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(text)) return text;
    if (!window.crypto || !crypto.subtle) return undefined;
    return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
  }

  // text/plain keeps this a CORS simple request (no preflight); keepalive lets it
  // finish when the page unloads, as a thank-you page often does at once.
  async function send(event) {
    const body = Object.assign({ visitor: visitor }, event);
    try {
      const response = await fetch(collectUrl, {
        method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'text/plain' }, keepalive: true,
      });
      return await response.json().catch(() => ({ status: 'ERROR', httpStatus: response.status }));
    } catch (error) {
      return { status: 'ERROR', message: String(error) };
    }
  }

  function storedClickId() {
    const clickId = readCookie('tally_click');
    return clickId && CLICK_ID.test(clickId) ? clickId : undefined;
  }

  // What the page's last identify said: a conversion on the same page that names no
  // customer is sent with it, as the documented tag does.
  let identified = {};

  const commands = {
    identify: async function (fields) {
      fields = fields || {};
      identified = {
        customerId: present(fields.customerId),
        customerEmail: await hashEmail(fields.customerEmail),
        customProfileId: present(fields.customProfileId),
      };
      return send(Object.assign({ type: 'identify', clickId: storedClickId() }, identified));
    },
    trackConversion: async function (eventType, order) {
      const conversion = Object.assign({ eventDate: 'NOW' }, order || {});
      conversion[/^\d+$/.test(String(eventType)) ? 'eventTypeId' : 'eventTypeCode'] = eventType;
      conversion.customerEmail = await hashEmail(conversion.customerEmail);
      Object.keys(identified).forEach((name) => {
        if (present(conversion[name]) === undefined) conversion[name] = identified[name];
      });
      const event = { type: 'conversion', conversion: conversion };
      if (!conversion.clickId) event.clickId = storedClickId();
      return send(event);
    },
  };

  // Where each call takes its options ({callback(result)}), after its documented arguments.
  const OPTIONS_AT = { identify: 1, trackConversion: 2 };

  // Calls run one after another, so an identify reaches Tally before the conversion
  // that follows it.
  let chain = Promise.resolve();
  function live(name) {
    const args = Array.prototype.slice.call(arguments, 1);
    const command = commands[name];
    const options = args[OPTIONS_AT[name]] || null;
    chain = chain.then(async () => {
      const result = command ? await command.apply(null, args) : { status: 'ERROR', message: 'unknown call ' + name };
      if (options && typeof options.callback === 'function') options.callback(result);
      return result;
    });
    return chain;
  }
  live.loaded = true;

  const visitor = visitorId();
  // A page may name the same stub both ways; its queue is read once.
  const stubs = Array.from(new Set([window.ire, window.tally]));
  const queued = stubs.reduce((calls, stub) => calls.concat(stub && stub.q ? Array.from(stub.q) : []), []);
  window.tally = live;
  window.ire = live;

  const landedClickId = config.clickParam ? new URLSearchParams(location.search).get(config.clickParam) : null;
  if (landedClickId && CLICK_ID.test(landedClickId)) {
    writeCookie('tally_click', landedClickId, config.clickDays);
    chain = chain.then(() => send({ type: 'landing', clickId: landedClickId }));
  }
  queued.forEach((call) => live.apply(null, Array.from(call)));
})(__TALLY_CONFIG__);
