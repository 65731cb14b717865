/* 暖线坐席台: login, live queue, conversation work (take over, reply, notes, hand back, close).
 * Everything a resident or the model wrote is put on the page with textContent, never parsed as HTML.
 * The page talks only to the same-origin API; the bearer token lives in sessionStorage (per tab). */
"use strict";

const API = "/api/v1";
const LABELS = {
  category: {
    no_heat: "暖气不热", leak: "漏水", valve: "阀门", equipment_noise: "异响/设备", billing: "缴费",
    suspend: "报停/开通", inquiry: "咨询", progress: "进度", complaint: "投诉",
    praise_suggestion: "表扬建议", account: "户号信息", other: "其他",
  },
  emotion: { satisfied: "满意", neutral: "平静", anxious: "焦虑", dissatisfied: "不满", angry: "愤怒" },
  urgency: { emergency: "紧急", high: "高", normal: "普通", low: "低" },
  channel: { web: "网页", app: "APP", wechat: "公众号" },
  sender: { resident: "住户", bot: "机器人", agent: "客服", system: "系统" },
};
const EMOTION_LEVEL = { satisfied: 0, neutral: 1, anxious: 2, dissatisfied: 3, angry: 4 };
const TAB_NAMES = { conversations: "会话", tickets: "工单", dashboard: "看板", quality: "质检", kb: "知识库" };

const state = {
  token: sessionStorage.getItem("warmline.token"),
  me: null,
  clockOffset: 0,
  queue: [],
  mine: [],
  current: null,
  queueStream: null,
  convStream: null,
  retry: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, opts = {}, ...children) {
  const node = document.createElement(tag);
  if (opts.cls) node.className = opts.cls;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  if (opts.title) node.title = opts.title;
  if (opts.data) Object.entries(opts.data).forEach(([k, v]) => { node.dataset[k] = v; });
  for (const child of children) if (child) node.append(child);
  return node;
}

function label(kind, value) {
  return (LABELS[kind] && LABELS[kind][value]) || value || "—";
}

function badge(kind, value) {
  if (!value) return null;
  return el("span", { cls: `badge ${kind}-${value}`, text: label(kind, value) });
}

/* --- API --- */

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) {
    const message = (data && data.error && data.error.message) || `请求失败（${response.status}）`;
    if (response.status === 401 && state.token) logout(message);
    throw new ApiError(response.status, message);
  }
  return data;
}

window.warmline = { api, el, label, badge, state, formatTime: (at, withDate) => formatTime(at, withDate) };

/* --- time, measured on the server's clock --- */

function serverNow() { return Date.now() + state.clockOffset; }

function waited(since) {
  if (!since) return { text: "", minutes: 0 };
  const minutes = Math.max(0, Math.floor((serverNow() - Date.parse(since)) / 60000));
  if (minutes < 1) return { text: "刚刚", minutes };
  if (minutes < 60) return { text: `${minutes}分`, minutes };
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return { text: `${hours}时${String(minutes % 60).padStart(2, "0")}分`, minutes };
  return { text: `${Math.floor(hours / 24)}天`, minutes };
}

const formatters = {};

function formatTime(at, withDate = false) {
  // Times read in the company's timezone, whatever the desk PC is set to.
  const key = withDate ? "date" : "time";
  if (!formatters[key]) {
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: (state.me && state.me.timezone) || undefined };
    if (withDate) Object.assign(options, { month: "2-digit", day: "2-digit" });
    formatters[key] = new Intl.DateTimeFormat("zh-CN", options);
  }
  return formatters[key].format(new Date(at));
}

function clockText(at) { return formatTime(at); }

/* --- login --- */

function showLogin(message) {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("username").focus();
}

function logout(message) {
  state.token = null;
  sessionStorage.removeItem("warmline.token");
  closeStreams();
  showLogin(message);
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  $("login-submit").disabled = true;
  try {
    const data = await api("POST", "auth/login", {
      username: $("username").value.trim(), password: $("password").value,
    });
    state.token = data.token;
    sessionStorage.setItem("warmline.token", data.token);
    $("password").value = "";
    await start();
  } catch (err) {
    $("login-error").textContent = err.message;
  } finally {
    $("login-submit").disabled = false;
  }
}

async function start() {
  let boot;
  try {
    boot = await api("GET", "backoffice/console/bootstrap");
  } catch (err) {
    if (err.status === 403) {
      $("login").hidden = true;
      $("app").hidden = false;
      $("no-access").hidden = false;
      $("who").textContent = "";
      return;
    }
    showLogin(err.message);
    return;
  }
  state.me = boot;
  state.clockOffset = Date.parse(boot.now) - Date.now();
  $("login").hidden = true;
  $("app").hidden = false;
  $("no-access").hidden = true;
  $("who").textContent = `${boot.display_name}（${{ agent: "坐席", supervisor: "班长", admin: "管理员" }[boot.role] || boot.role}）`;
  renderTabs(boot.tabs);
  renderCanned(boot.canned_replies);
  if (boot.tabs.includes("conversations")) {
    await refreshLists();
    openQueueStream();
  }
}

function renderTabs(tabs) {
  const nav = $("tabs");
  nav.replaceChildren();
  for (const tab of tabs) {
    const button = el("button", { cls: "tab-button", text: TAB_NAMES[tab] || tab, data: { tab } });
    button.type = "button";
    button.addEventListener("click", () => switchTab(tab));
    nav.append(button);
  }
  if (tabs.length) switchTab(tabs[0]);
}

function switchTab(tab) {
  document.querySelectorAll(".tab").forEach((section) => { section.hidden = section.id !== `tab-${tab}`; });
  document.querySelectorAll(".tab-button").forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
  if (tab !== "conversations" && window.warmlineTabs) window.warmlineTabs.open(tab, state.me.endpoints[tab] || []);
}

/* --- the queue --- */

let refreshTimer = null;
let lastRefresh = 0;

function scheduleRefresh() {
  // Under a season-start flood events arrive many per second: reload at most once a second.
  if (refreshTimer) return;
  const wait = Math.max(0, 1000 - (Date.now() - lastRefresh));
  refreshTimer = setTimeout(() => { refreshTimer = null; refreshLists(); }, wait);
}

async function refreshLists() {
  lastRefresh = Date.now();
  try {
    const [queue, mine] = await Promise.all([
      api("GET", "backoffice/conversations?limit=200"), api("GET", "backoffice/console/mine"),
    ]);
    state.queue = queue;
    state.mine = mine;
    renderLists();
  } catch (err) {
    if (err.status !== 401) $("queue-empty").textContent = err.message;
  }
}

function residentLine(card) {
  const r = card.resident;
  return r ? `${r.community} ${r.building} · ${r.name}` : "未绑定户号的访客";
}

function briefSummary(summary) {
  // The bot's summary is "原因：…\n住户：…\n诉求：…"; in a dense row the 诉求 and 原话 say the most.
  if (!summary) return "";
  const lines = summary.split("\n");
  const pick = (name) => (lines.find((l) => l.startsWith(`${name}：`)) || "").slice(name.length + 1);
  return [pick("诉求"), pick("住户原话")].filter(Boolean).join(" · ") || lines[0];
}

function queueItem(card) {
  const wait = waited(card.waiting_since);
  const item = el("li", {
    cls: `qi urgency-${card.urgency || "normal"} emotion-${card.emotion || "neutral"}`,
    data: { id: card.id },
  });
  if (state.current && state.current.id === card.id) item.classList.add("selected");
  item.tabIndex = 0;
  const waitCls = wait.minutes >= 30 ? "wait late" : wait.minutes >= 10 ? "wait slow" : "wait";
  item.append(
    el("div", { cls: "qi-top" },
      badge("urgency", card.urgency), badge("emotion", card.emotion),
      el("span", { cls: "qi-who", text: residentLine(card) }),
      el("span", { cls: waitCls, text: wait.text, title: "已等待" })),
    el("div", { cls: "qi-bottom" },
      el("span", { cls: "tag", text: label("category", card.category) }),
      el("span", { cls: "tag", text: label("channel", card.channel) }),
      el("span", { cls: "qi-summary", text: briefSummary(card.handoff_summary), title: card.handoff_summary || "" })),
  );
  item.addEventListener("click", () => openConversation(card.id));
  item.addEventListener("keydown", (e) => { if (e.key === "Enter") openConversation(card.id); });
  return item;
}

function matches(card, filter) {
  if (!filter) return true;
  const r = card.resident || {};
  return [r.community, r.building, r.account_no, card.handoff_summary, label("category", card.category)]
    .some((v) => v && String(v).includes(filter));
}

function renderLists() {
  const filter = $("queue-filter").value.trim();
  const queue = state.queue.filter((c) => matches(c, filter));
  $("queue").replaceChildren(...queue.map(queueItem));
  $("queue-count").textContent = String(state.queue.length);
  $("queue-empty").hidden = queue.length > 0;
  $("queue-empty").textContent = "暂无等待接入的会话";
  $("mine").replaceChildren(...state.mine.map(queueItem));
  $("mine-count").textContent = String(state.mine.length);
  $("mine-empty").hidden = state.mine.length > 0;
  document.title = state.queue.length ? `(${state.queue.length}) 暖线坐席台` : "暖线坐席台";
}

/* --- live events: EventSource with a one-minute ticket --- */

function setLive(on, text) {
  const live = $("live");
  live.classList.toggle("off", !on);
  live.textContent = on ? "● 实时" : `● ${text || "重连中"}`;
}

async function openStream(conversationId, onEvent) {
  const { ticket } = await api("POST", "backoffice/console/stream-ticket");
  const params = new URLSearchParams({ ticket });
  if (conversationId) params.set("conversation", conversationId);
  const source = new EventSource(`${API}/backoffice/console/events?${params}`);
  for (const type of ["message", "handoff", "taken", "agent_joined", "agent_left", "closed", "ready"]) {
    source.addEventListener(type, onEvent);
  }
  return source;
}

async function openQueueStream() {
  if (!state.token) return;
  try {
    const source = await openStream(null, (event) => {
      state.retry = 0;
      setLive(true);
      if (event.type !== "ready") scheduleRefresh();
    });
    state.queueStream = source;
    source.onerror = () => {
      // The ticket is good for one connection attempt; reconnect with a fresh one, backing off.
      source.close();
      if (state.queueStream !== source) return;
      state.queueStream = null;
      setLive(false);
      reconnectLater();
    };
  } catch (err) {
    setLive(false);
    reconnectLater();
  }
}

function reconnectLater() {
  if (!state.token) return;
  const delay = Math.min(30000, 1000 * 2 ** state.retry++);
  setTimeout(() => { refreshLists(); openQueueStream(); }, delay);
}

function closeStreams() {
  if (state.queueStream) state.queueStream.close();
  if (state.convStream) state.convStream.close();
  state.queueStream = state.convStream = null;
}

/* --- one conversation --- */

let detailTimer = null;

async function openConversation(id) {
  $("conv-error").textContent = "";
  try {
    const detail = await api("GET", `backoffice/conversations/${encodeURIComponent(id)}`);
    const switched = !state.current || state.current.id !== id;
    state.current = detail;
    renderConversation(detail);
    renderLists();
    if (switched) {
      $("reply-text").value = "";
      watchConversation(id);
      loadSuggestions(id);
    }
  } catch (err) {
    $("conv-error").textContent = err.message;
  }
}

async function watchConversation(id) {
  if (state.convStream) state.convStream.close();
  state.convStream = null;
  try {
    const source = await openStream(id, (event) => {
      if (event.type === "ready" || !state.current || state.current.id !== id) return;
      clearTimeout(detailTimer);
      detailTimer = setTimeout(() => openConversation(id), 300);
    });
    if (!state.current || state.current.id !== id) { source.close(); return; }
    state.convStream = source;
    source.onerror = () => { source.close(); if (state.convStream === source) state.convStream = null; };
  } catch (_) { /* the queue stream and manual reloads still work */ }
}

function renderConversation(c) {
  $("conv-empty").hidden = true;
  $("conv-body").hidden = false;
  $("conv-title").textContent = residentLine(c);
  const wait = waited(c.waiting_since);
  $("conv-badges").replaceChildren(...[
    badge("urgency", c.urgency), badge("emotion", c.emotion),
    el("span", { cls: "tag", text: label("category", c.category) }),
    el("span", { cls: "tag", text: label("channel", c.channel) }),
    wait.text ? el("span", { cls: "tag", text: `已等待 ${wait.text}` }) : null,
  ].filter(Boolean));
  const mine = state.me && c.owner === state.me.staff_id;
  const free = c.owner === "bot";
  const closed = c.status === "closed";
  const lead = state.me && state.me.role !== "agent";
  $("conv-owner").textContent = closed ? `会话已结束（${clockText(c.closed_at)}）`
    : mine ? "由我接待" : free ? "机器人接待中" : "已由其他客服接管";
  $("take-over").hidden = !free || closed;
  $("hand-back").hidden = closed || !(mine || (!free && lead));
  $("close-conv").hidden = closed || !(mine || free || lead);
  $("send-reply").disabled = !mine;
  $("send-reply").title = mine ? "" : "请先接管该会话再回复";
  $("handoff-summary").textContent = c.handoff_summary || "暂无";
  renderTranscript(c.messages);
  renderTrend(c.messages.filter((m) => m.sender === "resident" && !m.internal));
  renderResident(c.resident);
  const notes = c.messages.filter((m) => m.internal);
  $("notes").replaceChildren(...(notes.length
    ? notes.map((m) => el("li", {}, el("span", { cls: "muted small", text: `${clockText(m.at)} ` }), el("span", { text: m.text })))
    : [el("li", { cls: "muted", text: "暂无" })]));
}

function renderTranscript(messages) {
  const list = $("transcript");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...messages.map((m) => {
    const who = m.internal ? "内部备注" : label("sender", m.sender);
    const item = el("li", { cls: `msg from-${m.sender}${m.internal ? " internal" : ""}` },
      el("div", { cls: "msg-meta" },
        el("span", { text: who }), el("span", { cls: "muted", text: clockText(m.at) }),
        m.sender === "resident" ? badge("emotion", m.emotion) : null,
        m.sender === "resident" && m.urgency && m.urgency !== "normal" ? badge("urgency", m.urgency) : null),
      el("div", { cls: "msg-text", text: m.text }));
    return item;
  }));
  if (atBottom || list.dataset.conv !== state.current.id) list.scrollTop = list.scrollHeight;
  list.dataset.conv = state.current.id;
}

function renderTrend(messages) {
  const trend = $("emotion-trend");
  if (!messages.length) { trend.replaceChildren(el("li", { cls: "muted", text: "暂无" })); return; }
  trend.replaceChildren(...messages.slice(-12).map((m) => {
    const level = EMOTION_LEVEL[m.emotion] ?? 1;
    const bar = el("span", { cls: `bar emotion-${m.emotion || "neutral"}` });
    bar.style.height = `${8 + level * 8}px`;
    return el("li", { title: `${clockText(m.at)} ${label("emotion", m.emotion)}：${m.text.slice(0, 30)}` },
      bar, el("span", { cls: "small", text: label("emotion", m.emotion) }));
  }));
}

function renderResident(r) {
  const rows = r ? [
    ["户号", r.account_no], ["姓名", r.name], ["电话", r.phone], ["地址", r.address],
    ["面积", `${r.heated_area} ㎡`], ["状态", { active: "正常", suspended: "报停", closed: "销户" }[r.status] || r.status], ["标签", (r.tags || []).join("、") || "—"],
  ] : [["身份", "未绑定户号（匿名访客）"]];
  $("resident-info").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
}

function renderCanned(replies) {
  $("canned").replaceChildren(...replies.map((text) => {
    const chip = el("button", { cls: "chip", text: text.length > 14 ? `${text.slice(0, 14)}…` : text, title: text });
    chip.type = "button";
    chip.addEventListener("click", () => insertReply(text));
    return chip;
  }));
}

function insertReply(text) {
  const box = $("reply-text");
  box.value = box.value ? `${box.value}\n${text}` : text;
  box.focus();
}

async function loadSuggestions(id) {
  const list = $("kb-suggestions");
  list.replaceChildren(el("li", { cls: "muted", text: "检索中…" }));
  try {
    const hits = await api("GET", `backoffice/console/conversations/${encodeURIComponent(id)}/suggestions`);
    if (!state.current || state.current.id !== id) return;
    list.replaceChildren(...(hits.length ? hits.map((hit) => {
      const use = el("button", { cls: "ghost small", text: "引用" });
      use.type = "button";
      use.addEventListener("click", () => insertReply(hit.text));
      return el("li", {}, el("div", { cls: "sug-head" }, el("strong", { text: hit.title }), use),
        el("p", { cls: "sug-text", text: hit.text }));
    }) : [el("li", { cls: "muted", text: "暂无" })]));
  } catch (_) {
    list.replaceChildren(el("li", { cls: "muted", text: "暂无" }));
  }
}

async function act(button, action) {
  $("conv-error").textContent = "";
  button.disabled = true;
  try { await action(); } catch (err) { $("conv-error").textContent = err.message; } finally { button.disabled = false; }
}

function currentPath(suffix) { return `backoffice/conversations/${encodeURIComponent(state.current.id)}/${suffix}`; }

async function takeOver() {
  await act($("take-over"), async () => {
    try {
      await api("POST", currentPath("take-over"));
    } catch (err) {
      if (err.status === 409) await refreshLists();
      throw err;
    }
    await Promise.all([openConversation(state.current.id), refreshLists()]);
    $("reply-text").focus();
  });
}

async function send(kind) {
  const text = $("reply-text").value.trim();
  if (!text) { $("conv-error").textContent = "请输入内容"; return; }
  await act($(kind === "reply" ? "send-reply" : "add-note"), async () => {
    await api("POST", currentPath(kind === "reply" ? "reply" : "notes"), { text });
    $("reply-text").value = "";
    await openConversation(state.current.id);
  });
  if (kind === "reply") $("send-reply").disabled = !(state.me && state.current.owner === state.me.staff_id);
}

async function handBack() {
  await act($("hand-back"), async () => {
    await api("POST", currentPath("hand-back"));
    await Promise.all([openConversation(state.current.id), refreshLists()]);
  });
}

async function closeConversation() {
  await act($("close-conv"), async () => {
    await api("POST", currentPath("close"));
    await Promise.all([openConversation(state.current.id), refreshLists()]);
  });
}

/* --- wiring --- */

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout(""));
  $("queue-filter").addEventListener("input", renderLists);
  $("take-over").addEventListener("click", takeOver);
  $("send-reply").addEventListener("click", () => send("reply"));
  $("add-note").addEventListener("click", () => send("note"));
  $("hand-back").addEventListener("click", handBack);
  $("close-conv").addEventListener("click", closeConversation);
  $("reply-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send("reply"); }
  });
  // Waiting times tick on their own; a slow poll covers a stream that silently died.
  setInterval(() => { if (state.me && !$("tab-conversations").hidden) renderLists(); }, 15000);
  setInterval(() => { if (state.me && state.me.tabs.includes("conversations")) refreshLists(); }, 30000);
  if (state.token) start(); else showLogin("");
});
