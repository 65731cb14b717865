"""Billing: what a resident owes and why, payment orders, WeChat Pay callbacks, invoices, reminders.

    rules        pure money rules (base fee, early discount, late fee) — the single source of amounts
    statement    pure: one bill on one day (due now, itemised) and how a sum settles it
    service      queries: bills per season, arrears, payment history
    payments     payment orders (quote, reuse, idempotency) and applying money to bills
    notify       WeChat Pay v2 payment notifications: verify, then credit exactly once
    wechat_pay   the v2 wire format: signing, hardened XML parsing, notify builder, reply XML
    invoices     e-invoice requests and the job that issues them
    reminders    daily arrears reminders through the outbox
    tools        the agent's LangChain tools (``BILLING_TOOLS``)

Service functions take the session first and keyword-only arguments; they flush, never commit.
"""
