/* 暖线 Warmline chat widget. Embed with one tag:
 *   <script src="https://<warmline-host>/widget.js" defer></script>
 * Everything the bot or an agent says is inserted as text (never HTML), so model output cannot
 * inject markup; links are not rendered as anchors. */
(function () {
  "use strict";
  if (window.__warmlineWidget) return;
  window.__warmlineWidget = true;
  var script = document.currentScript;
  var base = (script && script.src) ? new URL(script.src).origin : window.location.origin;
  var QUICK = ["暖气不热", "漏水", "缴费", "报停", "查进度"];
  var state = { session: null, token: null, busy: false, resident: null };

  var css = "#wl-btn{position:fixed;right:18px;bottom:18px;z-index:99999;border:0;border-radius:28px;padding:14px 18px;" +
    "background:#d9480f;color:#fff;font-size:16px;box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer}" +
    "#wl-panel{position:fixed;right:18px;bottom:84px;z-index:99999;width:360px;max-width:calc(100vw - 24px);height:560px;" +
    "max-height:calc(100vh - 110px);background:#fff;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:none;" +
    "flex-direction:column;overflow:hidden;font:14px/1.5 -apple-system,'PingFang SC','Microsoft YaHei',sans-serif;color:#222}" +
    "#wl-panel.open{display:flex}#wl-head{background:#d9480f;color:#fff;padding:12px 14px;font-weight:600;display:flex;" +
    "justify-content:space-between;align-items:center}#wl-head small{font-weight:400;opacity:.9}" +
    "#wl-log{flex:1;overflow-y:auto;padding:12px;background:#fff8f3}.wl-msg{margin:6px 0;display:flex}" +
    ".wl-msg span{padding:8px 11px;border-radius:12px;max-width:80%;white-space:pre-wrap;word-break:break-word}" +
    ".wl-me{justify-content:flex-end}.wl-me span{background:#d9480f;color:#fff}.wl-bot span{background:#fff;border:1px solid #f0d9c8}" +
    ".wl-agent span{background:#e7f5ff;border:1px solid #a5d8ff}.wl-sys{justify-content:center;color:#868e96;font-size:12px}" +
    ".wl-src{font-size:12px;color:#868e96;margin:-2px 0 6px 4px}.wl-chips{display:flex;flex-wrap:wrap;gap:6px;padding:6px 12px;background:#fff}" +
    ".wl-chip{border:1px solid #f4a261;background:#fff;color:#c2410c;border-radius:14px;padding:3px 10px;font-size:13px;cursor:pointer}" +
    "#wl-form{display:flex;border-top:1px solid #eee}#wl-input{flex:1;border:0;padding:12px;font-size:15px;outline:none}" +
    "#wl-send{border:0;background:#d9480f;color:#fff;padding:0 16px;font-size:15px;cursor:pointer}" +
    "#wl-bind{padding:10px 12px;background:#fff;border-bottom:1px solid #eee;display:flex;gap:6px;flex-wrap:wrap}" +
    "#wl-bind input{flex:1;min-width:90px;border:1px solid #ddd;border-radius:6px;padding:6px}#wl-bind button{border:0;" +
    "background:#495057;color:#fff;border-radius:6px;padding:6px 10px}.wl-ticket{font-size:13px;background:#fff;" +
    "border:1px dashed #f4a261;border-radius:8px;padding:8px;margin:6px 0}.wl-ticket li{margin:2px 0}";
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var button = el("button", { id: "wl-btn", type: "button", "aria-label": "在线客服" }, "💬 在线客服");
  var panel = el("div", { id: "wl-panel", role: "dialog", "aria-label": "暖线在线客服" });
  var head = el("div", { id: "wl-head" });
  head.appendChild(el("span", {}, "暖线小助手"));
  var handoffBadge = el("small", {}, "");
  head.appendChild(handoffBadge);
  var human = el("button", { type: "button", class: "wl-chip", style: "background:#fff" }, "转人工");
  head.appendChild(human);
  var bind = el("form", { id: "wl-bind" });
  var accountInput = el("input", { placeholder: "10位户号", inputmode: "numeric", maxlength: "10" });
  var phoneInput = el("input", { placeholder: "手机后四位", inputmode: "numeric", maxlength: "4" });
  bind.appendChild(accountInput);
  bind.appendChild(phoneInput);
  bind.appendChild(el("button", { type: "submit" }, "绑定"));
  var log = el("div", { id: "wl-log", "aria-live": "polite" });
  var chips = el("div", { class: "wl-chips" });
  var quick = el("div", { class: "wl-chips" });
  var form = el("form", { id: "wl-form" });
  var input = el("input", { id: "wl-input", placeholder: "请描述您的问题…", maxlength: "1000", autocomplete: "off" });
  form.appendChild(input);
  form.appendChild(el("button", { id: "wl-send", type: "submit" }, "发送"));
  [head, bind, log, chips, quick, form].forEach(function (node) { panel.appendChild(node); });
  document.body.appendChild(button);
  document.body.appendChild(panel);

  function add(kind, text) {
    var row = el("div", { class: "wl-msg wl-" + kind });
    row.appendChild(el("span", {}, text));
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
    return row;
  }

  function renderChips(target, items) {
    target.textContent = "";
    (items || []).forEach(function (text) {
      var chip = el("button", { type: "button", class: "wl-chip" }, text);
      chip.addEventListener("click", function () { send(text); });
      target.appendChild(chip);
    });
  }

  function renderTicket(ticket) {
    if (!ticket || !ticket.ticket_no) return;
    var box = el("div", { class: "wl-ticket" });
    box.appendChild(el("strong", {}, "工单 " + ticket.ticket_no + "：" + (ticket.status || "")));
    var list = el("ul", {});
    (ticket.timeline || ticket.events || []).forEach(function (event) {
      list.appendChild(el("li", {}, (event.at_text || event.at || "") + " " + (event.message || event.status || "")));
    });
    box.appendChild(list);
    log.appendChild(box);
  }

  function api(path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(base + path, { method: "POST", headers: headers, body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) throw new Error((data.error && data.error.message) || "网络异常，请稍后再试");
          return data;
        });
      });
  }

  function open(accountNo, last4) {
    var body = { channel: "web" };
    if (accountNo) { body.account_no = accountNo; body.phone_last4 = last4; }
    return api("/api/v1/chat/sessions", body).then(function (data) {
      state.session = data.session_id;
      state.token = data.token;
      state.resident = data.resident || null;
      if (state.resident) {
        bind.style.display = "none";
        add("sys", "已绑定户号 " + state.resident.account_no + "（" + state.resident.address + "）");
      }
      renderChips(chips, data.suggestions);
      return data;
    });
  }

  function send(text) {
    text = (text || "").trim();
    if (!text || state.busy) return;
    state.busy = true;
    add("me", text);
    var pending = add("bot", "正在输入…");
    var ready = state.session ? Promise.resolve() : open();
    ready.then(function () {
      return api("/api/v1/chat/sessions/" + state.session + "/messages", {
        text: text,
        client_message_id: String(Date.now()) + Math.random().toString(16).slice(2, 8),
      });
    }).then(function (data) {
      log.removeChild(pending);
      if (data.reply) add("bot", data.reply);
      if (data.sources && data.sources.length) {
        log.appendChild(el("div", { class: "wl-src" }, "参考：" + data.sources.map(function (s) { return "《" + s.title + "》"; }).join(" ")));
      }
      renderTicket(data.ticket);
      if (data.handoff) handoffBadge.textContent = "人工客服已接入排队";
      renderChips(chips, data.suggestions);
    }).catch(function (error) {
      pending.firstChild.textContent = error.message;
    }).then(function () { state.busy = false; });
  }

  button.addEventListener("click", function () {
    panel.classList.toggle("open");
    if (panel.classList.contains("open") && !log.childNodes.length) {
      add("bot", "您好，我是暖线小助手。暖气不热、漏水、缴费、报停、查进度都可以问我；绑定户号后可以查询账单和报修。");
      renderChips(quick, QUICK);
      open().catch(function (error) { add("sys", error.message); });
    }
    input.focus();
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); send(input.value); input.value = ""; });
  human.addEventListener("click", function () { send("转人工"); });
  bind.addEventListener("submit", function (event) {
    event.preventDefault();
    state.session = null;
    state.token = null;
    open(accountInput.value.trim(), phoneInput.value.trim()).catch(function (error) { add("sys", error.message); });
  });
})();
