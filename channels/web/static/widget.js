/* 暖线 Warmline chat widget. Embed with one tag on any page:
 *   <script src="https://<warmline-host>/widget.js" defer></script>
 * No build step, no third-party code: the stylesheet comes from the same host.
 *
 * Safety: everything the bot or an agent says is inserted with textContent, never parsed as HTML;
 * a link becomes an anchor only when it points at this Warmline host or the embedding page's own
 * origin. The session token lives in sessionStorage (gone when the tab closes) and travels only
 * in the Authorization header, never in a URL.
 */
(function () {
  "use strict";
  if (window.__warmlineWidget) return;
  window.__warmlineWidget = true;

  const script = document.currentScript;
  const BASE = script && script.src ? new URL(script.src).origin : window.location.origin;
  const API = BASE + (script && script.dataset.api ? script.dataset.api : "/api/v1/chat");
  const CHANNEL = (script && script.dataset.channel) || "web";
  const STORE = "warmline:" + BASE;
  const LINK_ORIGINS = [BASE, window.location.origin];
  const QUICK = ["暖气不热", "漏水", "缴费", "报停", "查进度"];
  const MAX_PHOTO = 5 * 1024 * 1024;
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
  const st = { session: null, token: null, resident: null, busy: false, live: null, seen: new Set(), tickets: {} };

  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = BASE + "/widget.css";
  document.head.appendChild(link);

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* Text with allowlisted links: every piece goes in as a text node. */
  function richText(target, text) {
    target.textContent = "";
    const pattern = /https?:\/\/[^\s，。；、<>"']+/g;
    let last = 0;
    for (const match of String(text).matchAll(pattern)) {
      target.appendChild(document.createTextNode(text.slice(last, match.index)));
      let url = null;
      try { url = new URL(match[0]); } catch (e) { url = null; }
      if (url && LINK_ORIGINS.includes(url.origin)) {
        const a = el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer" }, match[0]);
        target.appendChild(a);
      } else {
        target.appendChild(document.createTextNode(match[0]));
      }
      last = match.index + match[0].length;
    }
    target.appendChild(document.createTextNode(String(text).slice(last)));
  }

  function cameraIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "20");
    svg.setAttribute("height", "20");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M9 4h6l1.5 2H20a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h3.5z");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.8");
    const lens = document.createElementNS(ns, "circle");
    lens.setAttribute("cx", "12");
    lens.setAttribute("cy", "12.5");
    lens.setAttribute("r", "3.5");
    lens.setAttribute("fill", "none");
    lens.setAttribute("stroke", "currentColor");
    lens.setAttribute("stroke-width", "1.8");
    svg.appendChild(path);
    svg.appendChild(lens);
    return svg;
  }

  /* ---------- layout ---------- */
  const root = el("div", { id: "wl-root" });
  const launcher = el("button", { id: "wl-btn", type: "button", "aria-label": "打开在线客服" });
  launcher.appendChild(el("span", { class: "wl-flame" }, "暖"));
  launcher.appendChild(el("span", {}, "在线客服"));
  const panel = el("div", { id: "wl-panel", role: "dialog", "aria-label": "暖线在线客服" });

  const head = el("div", { id: "wl-head" });
  head.appendChild(el("div", { class: "wl-logo", "aria-hidden": "true" }, "暖"));
  const title = el("div", { class: "wl-title" });
  title.appendChild(el("div", { class: "wl-name" }, "暖线小助手"));
  const status = el("div", { id: "wl-status" }, "智能客服在线");
  title.appendChild(status);
  head.appendChild(title);
  const trackBtn = el("button", { id: "wl-track-open", class: "wl-hbtn", type: "button" }, "进度");
  const humanBtn = el("button", { id: "wl-human", class: "wl-hbtn", type: "button" }, "转人工");
  const closeBtn = el("button", { id: "wl-close", type: "button", "aria-label": "关闭" }, "×");
  [trackBtn, humanBtn, closeBtn].forEach((b) => head.appendChild(b));

  const agentBar = el("div", { id: "wl-agentbar", role: "status" });

  const bindBar = el("div", { id: "wl-bindbar" });
  const bindRow = el("div", { class: "wl-row" });
  const bindText = el("span", {}, "绑定户号后可查账单、报修、查进度");
  const bindToggle = el("button", { class: "wl-link", type: "button", id: "wl-bind-toggle" }, "绑定户号");
  bindRow.appendChild(bindText);
  bindRow.appendChild(bindToggle);
  const bindForm = el("form", { id: "wl-bind" });
  const accountInput = el("input", { id: "wl-account", placeholder: "10位户号", inputmode: "numeric", maxlength: "10", autocomplete: "off" });
  const phoneInput = el("input", { id: "wl-phone", placeholder: "手机后四位", inputmode: "numeric", maxlength: "4", autocomplete: "off" });
  bindForm.appendChild(accountInput);
  bindForm.appendChild(phoneInput);
  bindForm.appendChild(el("button", { id: "wl-bind-submit", type: "submit" }, "绑定"));
  bindBar.appendChild(bindRow);
  bindBar.appendChild(bindForm);

  const log = el("div", { id: "wl-log", "aria-live": "polite" });
  const quick = el("div", { id: "wl-quick" });
  QUICK.forEach((text) => {
    const chip = el("button", { type: "button", class: "wl-chip" }, text);
    chip.addEventListener("click", () => send(text));
    quick.appendChild(chip);
  });
  const form = el("form", { id: "wl-form" });
  const photoBtn = el("button", { id: "wl-photo", type: "button", "aria-label": "上传照片", title: "上传照片" });
  photoBtn.appendChild(cameraIcon());
  const fileInput = el("input", { id: "wl-file", type: "file", accept: PHOTO_TYPES.join(","), hidden: "" });
  const input = el("input", { id: "wl-input", placeholder: "请描述您的问题…", maxlength: "1000", autocomplete: "off", enterkeyhint: "send" });
  const sendBtn = el("button", { id: "wl-send", type: "submit" }, "发送");
  [photoBtn, fileInput, input, sendBtn].forEach((n) => form.appendChild(n));

  const track = el("div", { id: "wl-track", role: "region", "aria-label": "工单进度" });
  const trackHead = el("div", { id: "wl-track-head" });
  const trackBack = el("button", { type: "button", "aria-label": "返回" }, "‹");
  trackHead.appendChild(trackBack);
  trackHead.appendChild(el("span", {}, "我的报修进度"));
  const trackBody = el("div", { id: "wl-track-body" });
  track.appendChild(trackHead);
  track.appendChild(trackBody);

  [head, agentBar, bindBar, log, quick, form, track].forEach((n) => panel.appendChild(n));
  root.appendChild(launcher);
  root.appendChild(panel);
  document.body.appendChild(root);

  /* ---------- rendering ---------- */
  function scroll() { log.scrollTop = log.scrollHeight; }

  function bubble(kind, text, who) {
    const row = el("div", { class: "wl-msg wl-" + kind });
    if (kind !== "me") row.appendChild(el("div", { class: "wl-av", "aria-hidden": "true" }, kind === "agent" ? "客" : "暖"));
    const body = el("div", { class: "wl-bubble" });
    if (who) body.appendChild(el("span", { class: "wl-who" }, who));
    const content = el("span", { class: "wl-text" });
    richText(content, text || "");
    body.appendChild(content);
    row.appendChild(body);
    log.appendChild(row);
    scroll();
    return content;
  }

  function system(text, warn) {
    const row = el("div", { class: "wl-sys" + (warn ? " wl-warn" : "") });
    row.appendChild(el("span", {}, text));
    log.appendChild(row);
    scroll();
  }

  function suggestions(items) {
    log.querySelectorAll(".wl-suggest").forEach((n) => n.classList.add("wl-used"));
    if (!items || !items.length) return;
    const box = el("div", { class: "wl-suggest" });
    box.appendChild(el("div", { class: "wl-label" }, "猜你想问"));
    const chips = el("div", { class: "wl-chips" });
    items.slice(0, 4).forEach((text) => {
      const chip = el("button", { type: "button", class: "wl-chip" }, text);
      chip.addEventListener("click", () => send(text));
      chips.appendChild(chip);
    });
    box.appendChild(chips);
    log.appendChild(box);
    scroll();
  }

  function ticketCard(ticket) {
    if (!ticket || !ticket.ticket_no) return;
    st.tickets[ticket.ticket_no] = ticket.status;
    const card = el("div", { class: "wl-ticket" });
    const line = el("div", {});
    line.appendChild(el("span", { class: "wl-tno" }, "工单 " + ticket.ticket_no));
    line.appendChild(el("span", { class: "wl-badge" + (ticket.urgency === "emergency" ? " wl-emergency" : "") }, ticket.status || ""));
    card.appendChild(line);
    if (ticket.eta_text) card.appendChild(el("div", { class: "wl-tmeta" }, ticket.eta_text));
    const open = el("button", { type: "button", class: "wl-track-link" }, "查看进度 ›");
    open.addEventListener("click", () => showTracking());
    card.appendChild(open);
    log.appendChild(card);
    scroll();
  }

  function setOwner(owner, agentName, waiting) {
    root.classList.toggle("wl-agent-on", owner === "agent");
    root.classList.toggle("wl-waiting", owner !== "agent" && !!waiting);
    if (owner === "agent") {
      status.textContent = "人工服务中" + (agentName ? " · " + agentName : "");
      agentBar.textContent = "坐席" + (agentName ? " " + agentName + " " : "") + "已接入，正在为您处理";
    } else {
      status.textContent = waiting ? "正在为您转接人工坐席…" : "智能客服在线";
    }
  }

  function showResident(resident) {
    st.resident = resident || null;
    if (resident) {
      bindBar.classList.remove("wl-expand");
      bindText.textContent = "已绑定 " + resident.account_no + " · " + resident.name + " · " + resident.address;
      bindToggle.textContent = "更换";
    } else {
      bindText.textContent = "绑定户号后可查账单、报修、查进度";
      bindToggle.textContent = "绑定户号";
    }
  }

  /* ---------- transport ---------- */
  function headers(json) {
    const h = {};
    if (json) h["Content-Type"] = "application/json";
    if (st.token) h.Authorization = "Bearer " + st.token;
    return h;
  }

  async function call(method, path, body) {
    const init = { method: method, headers: headers(body !== undefined && !(body instanceof FormData)) };
    if (body !== undefined) init.body = body instanceof FormData ? body : JSON.stringify(body);
    const response = await fetch(API + path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || "网络异常，请稍后再试");
      error.status = response.status;
      throw error;
    }
    return data;
  }

  /* Reads a text/event-stream body; calls onEvent(name, data) per event. */
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      for (const block of blocks) {
        let name = "message";
        const data = [];
        block.split(/\r?\n/).forEach((line) => {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        });
        if (!data.length) continue;
        let parsed = null;
        try { parsed = JSON.parse(data.join("\n")); } catch (e) { parsed = null; }
        if (parsed !== null) onEvent(name, parsed);
      }
    }
  }

  function save() {
    sessionStorage.setItem(STORE, JSON.stringify({ session: st.session, token: st.token, resident: st.resident }));
  }

  async function openSession(accountNo, last4) {
    const body = { channel: CHANNEL };
    if (accountNo) { body.account_no = accountNo; body.phone_last4 = last4; }
    st.token = null;
    const data = await call("POST", "/sessions", body);
    st.session = data.session_id;
    st.token = data.token;
    st.seen = new Set();
    showResident(data.resident);
    save();
    listen();
    return data;
  }

  async function restore() {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch (e) { saved = null; }
    if (!saved || !saved.session || !saved.token) return false;
    st.session = saved.session;
    st.token = saved.token;
    try {
      const state = await call("GET", "/sessions/" + st.session);
      showResident(state.resident);
      setOwner(state.owner, state.agent_name, state.waiting_for_agent);
      const history = await call("GET", "/sessions/" + st.session + "/messages");
      history.forEach((m) => {
        st.seen.add(m.id);
        if (m.sender === "resident") bubble("me", m.text);
        else if (m.sender === "agent") bubble("agent", m.text, "人工坐席");
        else if (m.sender === "bot") bubble("bot", m.text);
        else system(m.text);
      });
      listen();
      return true;
    } catch (e) {
      sessionStorage.removeItem(STORE);
      st.session = st.token = null;
      return false;
    }
  }

  /* The live channel: agent replies, agent joined/left, ticket progress. Reconnects with backoff. */
  function listen() {
    if (st.live) st.live.abort();
    const controller = new AbortController();
    st.live = controller;
    const session = st.session;
    let delay = 1000;
    const connect = async () => {
      while (!controller.signal.aborted && session === st.session) {
        try {
          const response = await fetch(API + "/sessions/" + session + "/events", {
            headers: headers(false), signal: controller.signal,
          });
          if (response.status === 401) return;
          if (!response.ok || !response.body) throw new Error("events " + response.status);
          delay = 1000;
          await readEvents(response, onLive);
        } catch (e) {
          if (controller.signal.aborted) return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 15000);
      }
    };
    connect();
  }

  function onLive(name, data) {
    if (name === "ready") {
      setOwner(data.owner, data.agent_name, data.waiting_for_agent);
    } else if (name === "agent_joined") {
      setOwner("agent", data.agent_name, false);
      system("坐席" + (data.agent_name ? " " + data.agent_name + " " : "") + "已接入，您可以直接和人工客服沟通");
    } else if (name === "agent_left") {
      setOwner("bot", null, false);
      system("人工坐席已离开，暖线小助手继续为您服务");
    } else if (name === "message" && data.sender === "agent") {
      if (data.message_id && st.seen.has(data.message_id)) return;
      if (data.message_id) st.seen.add(data.message_id);
      bubble("agent", data.text, "人工坐席");
    } else if (name === "ticket") {
      // A new ticket shows up as its card in the reply; announce only a known ticket's next step.
      const before = st.tickets[data.ticket_no];
      st.tickets[data.ticket_no] = data.status;
      if (before === undefined || before === data.status) return;
      system("工单 " + data.ticket_no + " 进度更新：" + data.status);
      if (track.classList.contains("wl-show")) showTracking();
    }
  }

  /* ---------- actions ---------- */
  function finish(data, content) {
    if (data.reply === null || data.reply === undefined) {
      content.parentNode.parentNode.remove();
      if (!root.classList.contains("wl-agent-on")) system("消息已送达人工坐席");
      return;
    }
    richText(content, data.reply);
    content.parentNode.parentNode.classList.remove("wl-typing");
    if (data.sources && data.sources.length) {
      const names = data.sources.filter((s) => s.title).map((s) => "《" + s.title + "》").join(" ");
      if (names) log.appendChild(el("div", { class: "wl-src" }, "参考：" + names));
    }
    ticketCard(data.ticket);
    if (data.handoff && !root.classList.contains("wl-agent-on")) {
      setOwner("bot", null, true);
      system("已为您转接人工坐席，请稍候", true);
    }
    suggestions(data.suggestions);
  }

  async function streamTurn(text, content) {
    const response = await fetch(API + "/sessions/" + st.session + "/messages/stream", {
      method: "POST", headers: headers(true),
      body: JSON.stringify({ text: text, client_message_id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8) }),
    });
    if (!response.ok || !response.body) {
      const data = await response.json().catch(() => ({}));
      const error = new Error((data.error && data.error.message) || "网络异常，请稍后再试");
      error.status = response.status;
      throw error;
    }
    let streamed = "";
    let result = null;
    let failure = null;
    await readEvents(response, (name, data) => {
      if (name === "delta") {
        streamed += data.text;
        content.textContent = streamed;
        scroll();
      } else if (name === "done") {
        result = data;
      } else if (name === "error") {
        failure = new Error(data.message || "系统繁忙，请稍后再试");
      }
    });
    if (failure) throw failure;
    if (!result) throw new Error("连接中断，请稍后再试");
    return result;
  }

  async function send(text) {
    text = (text || "").trim();
    if (!text || st.busy) return;
    st.busy = true;
    sendBtn.disabled = true;
    bubble("me", text);
    suggestions([]);
    const content = bubble("bot", "正在输入…");
    content.parentNode.parentNode.classList.add("wl-typing");
    try {
      if (!st.session) await openSession();
      let data;
      try {
        data = await streamTurn(text, content);
      } catch (error) {
        if (error.status !== 401) throw error;
        await openSession();
        data = await streamTurn(text, content);
      }
      finish(data, content);
    } catch (error) {
      content.textContent = error.message;
    } finally {
      st.busy = false;
      sendBtn.disabled = false;
      scroll();
    }
  }

  async function upload(file) {
    if (!file) return;
    if (!PHOTO_TYPES.includes(file.type)) { system("只支持 JPG、PNG、WebP 格式的照片", true); return; }
    if (file.size > MAX_PHOTO) { system("图片不能超过 5 MB", true); return; }
    const row = el("div", { class: "wl-msg wl-me" });
    const body = el("div", { class: "wl-bubble" });
    const img = el("img", { alt: "已选择的照片" });
    img.src = URL.createObjectURL(file);
    body.appendChild(img);
    row.appendChild(body);
    log.appendChild(row);
    scroll();
    try {
      if (!st.session) await openSession();
      const formData = new FormData();
      formData.append("file", file, file.name);
      const data = await call("POST", "/sessions/" + st.session + "/attachments", formData);
      system(data.message);
    } catch (error) {
      system(error.message, true);
    }
  }

  function stages(ticket) {
    const bar = el("div", { class: "wl-stages" });
    ticket.stages.slice(0, 5).forEach((name, index) => {
      let cls = "wl-stage";
      if (ticket.stage_index >= index) cls += " wl-done";
      if (ticket.stage_index === index) cls += " wl-now";
      bar.appendChild(el("div", { class: cls }, name));
    });
    return bar;
  }

  /* Times in the company's zone, whatever the phone's zone is. */
  const WHEN = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  function when(iso) { return WHEN.format(new Date(iso)); }

  async function showTracking() {
    track.classList.add("wl-show");
    trackBody.textContent = "";
    if (!st.resident) {
      trackBody.appendChild(el("div", { class: "wl-empty" }, "绑定户号后可以查看报修进度"));
      return;
    }
    try {
      const tickets = await call("GET", "/sessions/" + st.session + "/tickets");
      if (!tickets.length) trackBody.appendChild(el("div", { class: "wl-empty" }, "您还没有报修记录"));
      tickets.forEach((t) => {
        st.tickets[t.ticket_no] = t.status;
        const card = el("div", { class: "wl-tcard", "data-ticket": t.ticket_no });
        const h = el("h4", {}, t.category_name);
        h.appendChild(el("span", { class: "wl-badge" + (t.urgency === "emergency" ? " wl-emergency" : "") }, t.status));
        card.appendChild(h);
        card.appendChild(el("div", { class: "wl-tmeta" }, "工单号 " + t.ticket_no));
        if (t.stage_index >= 0) card.appendChild(stages(t));
        if (t.worker_name) card.appendChild(el("div", { class: "wl-tmeta" }, "维修师傅：" + t.worker_name));
        if (t.eta_text) card.appendChild(el("div", { class: "wl-tmeta" }, t.eta_text));
        if (t.photos) card.appendChild(el("div", { class: "wl-tmeta" }, "已上传照片 " + t.photos + " 张"));
        const steps = el("ul", { class: "wl-steps" });
        t.steps.slice().reverse().forEach((s) => {
          const li = el("li", {});
          li.appendChild(el("time", {}, when(s.at) + " · " + s.status));
          li.appendChild(el("span", {}, s.message));
          steps.appendChild(li);
        });
        card.appendChild(steps);
        trackBody.appendChild(card);
      });
    } catch (error) {
      trackBody.appendChild(el("div", { class: "wl-empty" }, error.message));
    }
  }

  /* ---------- wiring ---------- */
  let started = false;
  async function start() {
    if (started) return;
    started = true;
    if (await restore()) return;
    bubble("bot", "您好，我是暖线小助手。暖气不热、漏水、缴费、报停、查进度都可以问我；绑定户号后还能查账单、在线报修。");
    try {
      const data = await openSession();
      suggestions(data.suggestions);
    } catch (error) {
      system(error.message, true);
    }
  }

  launcher.addEventListener("click", () => {
    root.classList.add("wl-open");
    start();
    if (window.matchMedia("(min-width: 481px)").matches) input.focus();
  });
  closeBtn.addEventListener("click", () => root.classList.remove("wl-open"));
  form.addEventListener("submit", (event) => { event.preventDefault(); const t = input.value; input.value = ""; send(t); });
  humanBtn.addEventListener("click", () => send("转人工"));
  trackBtn.addEventListener("click", () => showTracking());
  trackBack.addEventListener("click", () => track.classList.remove("wl-show"));
  photoBtn.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => { upload(fileInput.files[0]); fileInput.value = ""; });
  bindToggle.addEventListener("click", () => { bindBar.classList.toggle("wl-expand"); accountInput.focus(); });
  bindForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const accountNo = accountInput.value.trim();
    const last4 = phoneInput.value.trim();
    if (!/^\d{10}$/.test(accountNo) || !/^\d{4}$/.test(last4)) { system("请输入10位户号和手机号后四位", true); return; }
    try {
      const data = await openSession(accountNo, last4);
      phoneInput.value = "";
      system("已绑定户号 " + data.resident.account_no + "（" + data.resident.address + "）");
      suggestions(data.suggestions);
    } catch (error) {
      system(error.message, true);
    }
  });
  window.WarmlineWidget = { open: () => launcher.click(), send: send };
})();
