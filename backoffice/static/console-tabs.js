/* 暖线坐席台: the tickets, dashboard, quality and knowledge-base tabs.
 * Each panel is shown only when the server serves its endpoint (bootstrap lists them); anything the
 * server returns is rendered with textContent, as tables, figures or lists. The forms that act on
 * tickets and proposals live in console-actions.js. */
"use strict";

(() => {
  const FIELD_NAMES = {
    ticket_no: "工单号", status: "状态", category: "类别", urgency: "紧急度", emotion: "情绪",
    address: "地址", contact_phone: "联系电话", worker_name: "师傅", worker_code: "师傅编号",
    eta_start: "预计到达", eta_end: "最晚到达", sla_due_at: "到场时限", breached: "已超时",
    created_at: "创建时间", duplicate_reports: "重复报修", description: "问题描述", at: "时间",
    kind: "类型", message: "内容", actor: "操作人", building: "楼栋", report_count: "报修数",
    opened_at: "开始时间", note: "说明", title: "标题", text: "内容", count: "数量", trend: "趋势",
    question: "问题", reason: "原因", score: "得分", name: "名称", handler: "处理方", flagged: "需复核",
    avg_score: "平均分", first_response_s: "首次响应(秒)", bucket: "时间", key: "分类", channel: "渠道",
    document_id: "文档", kind_zh: "类型", updated_at: "更新时间", audience: "受众", keywords: "热词",
    central_question: "代表问题", examples: "例句", confident: "有把握", confidence: "置信度", why: "命中原因",
    worker: "师傅", visits: "今日任务", on_shift: "在岗", summary: "摘要", conversation_id: "会话",
  };
  const TRANSLATED = { category: "category", urgency: "urgency", emotion: "emotion", channel: "channel" };
  const PANELS = {
    dashboard: [
      ["整栋楼不热告警", "GET /api/v1/backoffice/alerts"],
      ["服务指标（近 7 天）", "GET /api/v1/backoffice/dashboards/overview"],
      ["SLA 超时与临近超时", "GET /api/v1/backoffice/sla/breaches"],
      ["消息量", "GET /api/v1/backoffice/dashboards/volumes.png", "image"],
      ["热点问题", "GET /api/v1/backoffice/dashboards/hot-topics"],
      ["师傅看板", "GET /api/v1/backoffice/dispatch/board"],
    ],
    quality: [
      ["坐席与机器人质检统计", "GET /api/v1/backoffice/quality/stats"],
      ["需复核的会话", "GET /api/v1/backoffice/quality/flagged"],
    ],
    kb: [
      ["待审批的知识建议", "GET /api/v1/backoffice/kb/proposals", "proposals"],
      ["机器人没答上的问题", "GET /api/v1/backoffice/kb/unanswered"],
      ["热点问题", "GET /api/v1/backoffice/kb/hot-topics"],
      ["知识文档", "GET /api/v1/backoffice/kb/documents"],
    ],
  };
  const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

  const w = () => window.warmline;

  function fieldName(key) {
    const served = (w().state.me && w().state.me.field_names) || {};
    return served[key] || FIELD_NAMES[key] || key;
  }

  function scalarText(key, value) {
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "boolean") return value ? "是" : "否";
    if (typeof value === "number" && (key.endsWith("_rate") || key === "csat")) return `${(value * 100).toFixed(1)}%`;
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
    if (Array.isArray(value) && !value.length) return "0";
    if (typeof value === "string" && ISO.test(value)) return w().formatTime(value, true);
    if (TRANSLATED[key]) return w().label(TRANSLATED[key], value);
    if (Array.isArray(value)) return value.every((v) => typeof v !== "object") ? value.join("、") : `${value.length} 项`;
    if (typeof value === "object") return Object.keys(value).length ? JSON.stringify(value) : "—";
    return String(value);
  }

  function isScalar(value) { return value === null || typeof value !== "object" || (Array.isArray(value) && value.every((v) => typeof v !== "object")); }

  function table(rows, onRow, columns) {
    const { el } = w();
    if (!rows.length) return el("p", { cls: "empty small", text: "暂无" });
    const keys = [];
    for (const row of rows.slice(0, 20)) for (const [k, v] of Object.entries(row)) if (isScalar(v) && !keys.includes(k) && !k.endsWith("_id") && k !== "id") keys.push(k);
    const cols = columns || keys.slice(0, 9);
    const head = el("tr", {}, ...cols.map((k) => el("th", { text: fieldName(k) })));
    const body = rows.map((row) => {
      const tr = el("tr", { cls: onRow ? "clickable" : "" }, ...cols.map((k) => {
        const td = el("td", { text: scalarText(k, row[k]) });
        if (k === "urgency" && row[k]) td.classList.add(`cell-urgency-${row[k]}`);
        if (k === "breached" && row[k]) td.classList.add("cell-bad");
        return td;
      }));
      if (onRow) tr.addEventListener("click", () => onRow(row, tr));
      return tr;
    });
    return el("div", { cls: "table-wrap" }, el("table", { cls: "grid" }, el("thead", {}, head), el("tbody", {}, ...body)));
  }

  function render(value, depth = 0) {
    const { el } = w();
    if (Array.isArray(value)) {
      if (!value.length) return el("p", { cls: "empty small", text: "暂无" });
      if (value.every((v) => v && typeof v === "object" && !Array.isArray(v))) return table(value);
      return el("p", { text: value.map((v) => scalarText("", v)).join("、") });
    }
    if (value && typeof value === "object") {
      const entries = Object.entries(value);
      const scalars = entries.filter(([, v]) => isScalar(v));
      const nested = entries.filter(([, v]) => !isScalar(v));
      const box = el("div", { cls: "generic-block" });
      if (scalars.length) {
        box.append(el("div", { cls: "stats" }, ...scalars.map(([k, v]) =>
          el("div", { cls: "stat" }, el("div", { cls: "stat-value", text: scalarText(k, v) }), el("div", { cls: "stat-name", text: fieldName(k) })))));
      }
      for (const [k, v] of nested) {
        box.append(depth < 2 ? el("div", { cls: "sub" }, el("h4", { text: fieldName(k) }), render(v, depth + 1)) : el("p", { text: scalarText(k, v) }));
      }
      return box;
    }
    return el("p", { text: scalarText("", value) });
  }

  async function image(path) {
    const { el, state } = w();
    const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
    if (!response.ok) throw new Error(`加载失败（${response.status}）`);
    const img = el("img", { cls: "chart" });
    img.alt = "消息量图";
    img.src = URL.createObjectURL(await response.blob());
    return img;
  }

  async function panels(tab, endpoints, container) {
    const { el, api } = w();
    const chosen = (PANELS[tab] || []).filter(([, ep]) => endpoints.includes(ep));
    container.replaceChildren(...chosen.map(([title, ep]) => el("section", { cls: "card panel", data: { ep } }, el("h3", { text: title }), el("p", { cls: "muted small", text: "加载中…" }))));
    if (!chosen.length) container.replaceChildren(el("p", { cls: "empty", text: "暂无" }));
    await Promise.all(chosen.map(async ([title, ep, kind], i) => {
      const section = container.children[i];
      const path = ep.slice(ep.indexOf(" ") + 1);
      try {
        let body;
        if (kind === "image") body = await image(path);
        else if (kind === "proposals") body = window.warmlineActions.proposals(await api("GET", path), () => panels(tab, endpoints, container));
        else body = render(await api("GET", path));
        section.replaceChildren(el("h3", { text: title }), body);
      } catch (err) {
        section.replaceChildren(el("h3", { text: title }), el("p", { cls: "muted small", text: `暂无（${err.message}）` }));
      }
    }));
  }

  /* --- tickets: list, detail, timeline --- */

  async function tickets(selected) {
    const { api, el } = w();
    const list = document.getElementById("tickets-list");
    if (typeof selected !== "string") selected = null;
    if (!selected) list.replaceChildren(el("p", { cls: "muted small", text: "加载中…" }));
    try {
      const page = await api("GET", "backoffice/tickets?limit=100");
      const items = Array.isArray(page) ? page : page.items || [];
      const grid = table(items, (row, tr) => {
        list.querySelectorAll("tr.selected").forEach((r) => r.classList.remove("selected"));
        tr.classList.add("selected");
        ticketDetail(row.ticket_no);
      }, ["ticket_no", "status", "urgency", "category", "address", "sla_due_at", "breached", "duplicate_reports", "created_at"]);
      grid.querySelectorAll("tbody tr").forEach((tr, i) => {
        tr.dataset.ticket = items[i].ticket_no;
        if (items[i].ticket_no === selected) tr.classList.add("selected");
      });
      list.replaceChildren(el("p", { cls: "muted small", text: `共 ${page.total ?? items.length} 个工单，显示 ${items.length} 个` }), grid);
    } catch (err) {
      list.replaceChildren(el("p", { cls: "empty", text: `暂无（${err.message}）` }));
    }
  }

  async function ticketDetail(ticketNo) {
    const { api, el, badge } = w();
    const pane = document.getElementById("ticket-detail");
    try {
      const t = await api("GET", `backoffice/tickets/${encodeURIComponent(ticketNo)}`);
      const fields = ["status", "worker_name", "category", "urgency", "address", "contact_phone", "sla_due_at", "eta_start", "eta_end", "created_at", "duplicate_reports"];
      const timeline = (t.timeline || []).map((e) => el("li", { cls: `tl-${e.kind}` },
        el("div", { cls: "tl-head" }, el("strong", { text: e.kind === "internal" ? "内部备注" : e.status }), el("span", { cls: "muted small", text: `${scalarText("at", e.at)} · ${e.actor || ""}` })),
        el("div", { text: e.message }),
        e.worker_name ? el("div", { cls: "muted small", text: `师傅：${e.worker_name}` }) : null));
      const reload = async () => { await ticketDetail(ticketNo); await tickets(ticketNo); };
      pane.replaceChildren(
        el("h2", {}, el("span", { text: `工单 ${t.ticket_no} ` }), badge("urgency", t.urgency), t.breached ? el("span", { cls: "badge urgency-emergency", text: "已超时" }) : null),
        el("p", { cls: "summary", text: t.description || "" }),
        el("dl", { cls: "kv" }, ...fields.flatMap((k) => [el("dt", { text: fieldName(k) }), el("dd", { text: scalarText(k, t[k]) })])),
        window.warmlineActions.ticketActions(t, reload),
        el("h3", { text: "进度" }),
        el("ol", { cls: "timeline" }, ...(timeline.length ? timeline : [el("li", { cls: "muted", text: "暂无" })])),
      );
      pane.dataset.ticket = t.ticket_no;
      pane.dataset.status = t.status;
    } catch (err) {
      pane.replaceChildren(el("p", { cls: "error", text: err.message }));
    }
  }

  /* --- knowledge base: hit test + curation queues --- */

  async function hitTest(event) {
    event.preventDefault();
    const { api, el } = w();
    const query = document.getElementById("kb-query").value.trim();
    const out = document.getElementById("kb-results");
    if (!query) return;
    try {
      const result = await api("POST", "backoffice/kb/hit-test", { query });
      out.replaceChildren(el("section", { cls: "card" },
        el("h3", { text: `命中测试：${result.verdict || ""}` }),
        ...(result.hits || []).map((hit) => el("div", { cls: "hit" },
          el("strong", { text: `#${hit.rank} ${hit.title}` }), el("span", { cls: "muted small", text: ` 得分 ${hit.score.toFixed(3)} · ${hit.why || ""}` }),
          el("p", { cls: "sug-text", text: hit.text })))));
    } catch (err) {
      out.replaceChildren(el("p", { cls: "error", text: err.message }));
    }
  }

  const opened = {};

  function open(tab, endpoints) {
    const first = !opened[tab];
    opened[tab] = true;
    if (tab === "tickets") {
      if (first) document.getElementById("tickets-reload").addEventListener("click", tickets);
      tickets();
    } else if (tab === "kb") {
      const form = document.getElementById("kb-search");
      form.hidden = !endpoints.includes("POST /api/v1/backoffice/kb/hit-test");
      if (first) {
        form.addEventListener("submit", hitTest);
        document.getElementById("kb-reload").addEventListener("click", () => panels("kb", endpoints, document.getElementById("kb-body")));
      }
      panels("kb", endpoints, document.getElementById("kb-body"));
    } else if (PANELS[tab]) {
      const body = document.getElementById(`${tab}-body`);
      if (first) document.getElementById(`${tab}-reload`).addEventListener("click", () => panels(tab, endpoints, body));
      panels(tab, endpoints, body);
    }
  }

  window.warmlineTabs = { open, render };
})();
