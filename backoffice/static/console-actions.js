/* 暖线坐席台: the actions of the tickets and knowledge-base tabs.
 * Tickets: 派单 / 改派 to a worker, a status change along the lifecycle (the server lists what is
 * allowed next), internal notes. Knowledge base: approve (with the edited answer) or reject proposed
 * FAQ entries. Each form posts to the back-office API and reloads what it changed; a refusal (a
 * lifecycle rule, a role) is shown as the server's Chinese message. Text goes in with textContent. */
"use strict";

(() => {
  const w = () => window.warmline;
  const isSupervisor = () => ["supervisor", "admin"].includes(w().state.me.role);

  function control(tag, id, opts = {}) {
    const node = w().el(tag, { cls: opts.cls || "" });
    if (id) node.id = id;
    if (opts.placeholder) node.placeholder = opts.placeholder;
    if (opts.maxLength) node.maxLength = opts.maxLength;
    if (opts.rows) node.rows = opts.rows;
    if (opts.value !== undefined) node.value = opts.value;
    return node;
  }

  function button(id, text, cls = "") {
    const node = w().el("button", { cls, text });
    if (id) node.id = id;
    node.type = "button";
    return node;
  }

  function option(value, text) {
    const node = w().el("option", { text });
    node.value = value;
    return node;
  }

  function alertBox() {
    const node = w().el("p", { cls: "error" });
    node.setAttribute("role", "alert");
    return node;
  }

  async function run(btn, errorBox, action) {
    errorBox.textContent = "";
    btn.disabled = true;
    try { await action(); } catch (err) { errorBox.textContent = err.message; } finally { btn.disabled = false; }
  }

  /* --- tickets --- */

  async function fillWorkers(select, current) {
    select.replaceChildren(option("", "自动选择（就近、空闲、会修的师傅）"));
    try {
      const board = await w().api("GET", "backoffice/dispatch/board");
      for (const row of board) {
        if (row.worker_code === current) continue;
        const load = `${row.visits.length} 单`;
        select.append(option(row.worker_code, `${row.worker_name}（${row.worker_code}）· ${row.on_shift ? "在班" : "不在班"} · ${load}`));
      }
    } catch (_) { /* the board is optional: 自动选择 still works */ }
  }

  function dispatchForm(t, done, errorBox) {
    const { el } = w();
    const reassigning = t.status === "已派工";
    if (t.status !== "已受理" && !(reassigning && isSupervisor())) return null;
    const select = control("select", "ticket-worker");
    fillWorkers(select, t.worker_code);
    const reason = reassigning ? control("input", "ticket-reassign-reason", { placeholder: "改派原因（必填）", maxLength: 200 }) : null;
    const go = button(reassigning ? "ticket-reassign" : "ticket-dispatch", reassigning ? "改派" : "派单", "primary");
    go.addEventListener("click", () => run(go, errorBox, async () => {
      const body = { worker_code: select.value || null };
      if (reassigning) body.reason = reason.value.trim();
      const path = `backoffice/tickets/${encodeURIComponent(t.ticket_no)}/${reassigning ? "reassign" : "dispatch"}`;
      await w().api("POST", path, body);
      await done();
    }));
    const title = reassigning ? `改派（当前：${t.worker_name || "—"}）` : "派单";
    return el("div", { cls: "action-row" }, el("h4", { text: title }), el("div", { cls: "inline" }, select, reason, go));
  }

  function statusForm(t, done, errorBox) {
    const { el } = w();
    if (!(t.next_statuses || []).length) return null;
    const select = control("select", "ticket-status");
    select.append(...t.next_statuses.map((s) => option(s, s)));
    const reason = control("input", "ticket-status-reason", { placeholder: "原因（必填，写入进度与审计）", maxLength: 200 });
    const go = button("ticket-transition", "更新状态");
    go.addEventListener("click", () => run(go, errorBox, async () => {
      await w().api("POST", `backoffice/tickets/${encodeURIComponent(t.ticket_no)}/transition`, { status: select.value, reason: reason.value.trim() });
      await done();
    }));
    return el("div", { cls: "action-row" }, el("h4", { text: "变更状态" }), el("div", { cls: "inline" }, select, reason, go));
  }

  function noteForm(t, done, errorBox) {
    const { el } = w();
    const text = control("textarea", "ticket-note", { placeholder: "内部备注：只有同事能看到，不会发给住户", maxLength: 1000, rows: 2 });
    const go = button("ticket-add-note", "添加内部备注");
    go.addEventListener("click", () => run(go, errorBox, async () => {
      if (!text.value.trim()) throw new Error("请输入备注内容");
      await w().api("POST", `backoffice/tickets/${encodeURIComponent(t.ticket_no)}/notes`, { text: text.value.trim() });
      await done();
    }));
    return el("div", { cls: "action-row" }, el("h4", { text: "内部备注" }), text, go);
  }

  /** The action panel under a ticket's details; ``done`` reloads the detail and the list. */
  function ticketActions(t, done) {
    const { el } = w();
    const errorBox = alertBox();
    errorBox.id = "ticket-error";
    const forms = [dispatchForm(t, done, errorBox), statusForm(t, done, errorBox), noteForm(t, done, errorBox)];
    return el("section", { cls: "card actions" }, el("h3", { text: "处理" }), ...forms.filter(Boolean), errorBox);
  }

  /* --- knowledge-base proposals --- */

  function proposalCard(p, done) {
    const { el } = w();
    const canDecide = w().state.me.role === "admin";
    const errorBox = alertBox();
    const item = el("li", { cls: "proposal card", data: { id: p.id } },
      el("div", { cls: "tl-head" }, el("strong", { text: p.title }),
        el("span", { cls: "muted small", text: `${p.source === "mining" ? "问题挖掘" : "坐席答复"} · 被问 ${p.asked_count} 次` })),
      el("p", { cls: "small", text: `住户问法：${(p.questions || []).join(" / ")}` }),
      p.note ? el("p", { cls: "muted small", text: p.note }) : null);
    if (!canDecide) {
      item.append(el("p", { cls: "sug-text", text: p.answer || "（尚无答案）" }), el("p", { cls: "muted small", text: "批准或驳回由管理员操作" }));
      return item;
    }
    const answer = control("textarea", null, { cls: "proposal-answer", placeholder: "答案：批准后住户就会看到", maxLength: 4000, rows: 3, value: p.answer || "" });
    const reason = control("input", null, { cls: "proposal-reason", placeholder: "驳回原因（选填）", maxLength: 500 });
    const approve = button(null, "批准发布", "primary proposal-approve");
    const reject = button(null, "驳回", "proposal-reject");
    const path = (verb) => `backoffice/kb/proposals/${encodeURIComponent(p.id)}/${verb}`;
    approve.addEventListener("click", () => run(approve, errorBox, async () => {
      if (!answer.value.trim()) throw new Error("请先填写答案再批准");
      await w().api("POST", path("approve"), { answer: answer.value.trim() });
      await done();
    }));
    reject.addEventListener("click", () => run(reject, errorBox, async () => {
      await w().api("POST", path("reject"), { reason: reason.value.trim() });
      await done();
    }));
    item.append(answer, el("div", { cls: "inline" }, reason, reject, approve), errorBox);
    return item;
  }

  /** The 待审批 panel: one card per proposal, with approve / reject for admins. */
  function proposals(items, done) {
    const { el } = w();
    if (!items.length) return el("p", { cls: "empty small", text: "暂无待审批的知识建议" });
    return el("ol", { cls: "proposals" }, ...items.map((p) => proposalCard(p, done)));
  }

  window.warmlineActions = { ticketActions, proposals };
})();
