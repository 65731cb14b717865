"""报停 and 恢复供暖 applications: the season rules a service hall applies, checked at filing time.

Rules (from the company's season calendar, never from code constants):
- 报停 is for a whole season. Residential accounts apply on or before the season's
  ``suspend_apply_deadline`` and before the season starts; once heating has started they are refused.
  Non-residential accounts may still apply during the season; the hall settles the fee.
- Unpaid earlier seasons must be cleared first (the hall would send the resident back otherwise).
- 恢复供暖 applies to a season whose bill is 报停: for the coming season before its deadline, or
  mid-season at any time, where the resident pays the full fee less the 报停 share already billed.

A refusal under these rules is an answer, not an error: the service returns ``accepted=False`` with
the reason, so the bot tells the resident why instead of counting a failure. One live application
per account, season and kind (a partial unique index), so a double tap files one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tools.audit import record_audit
from tools.billing import rules
from tools.billing.models import Bill, ServiceRequest
from tools.billing.service import get_account, load_bills, view_bill
from tools.clock import Clock, local_date
from tools.company.models import HeatingSeason
from tools.errors import Conflict, NotFound
from tools.outbox import enqueue

KIND_NAMES = {"suspend": "报停", "resume": "恢复供暖"}
STATUS_NAMES = {
    "requested": "已提交，待营业厅审核",
    "approved": "已通过",
    "rejected": "未通过",
    "cancelled": "已撤销",
}
_LIVE = ("requested", "approved")


@dataclass
class RequestOutcome:
    accepted: bool
    message: str
    request: ServiceRequest | None = None
    duplicate: bool = False
    season_code: str | None = None


async def _seasons(session: AsyncSession) -> list[HeatingSeason]:
    return list(await session.scalars(select(HeatingSeason).order_by(HeatingSeason.starts_on)))


def _current(seasons: list[HeatingSeason], today: date) -> HeatingSeason | None:
    return next((s for s in seasons if s.starts_on <= today <= s.ends_on), None)


def _upcoming(seasons: list[HeatingSeason], today: date) -> HeatingSeason | None:
    return next((s for s in seasons if s.starts_on > today), None)


def _open_for_application(season: HeatingSeason | None, today: date) -> bool:
    return season is not None and (
        season.suspend_apply_deadline is None or today <= season.suspend_apply_deadline
    )


async def _live_request(
    session: AsyncSession, *, account_id: str, season_id: str, kind: str
) -> ServiceRequest | None:
    return await session.scalar(
        select(ServiceRequest).where(
            ServiceRequest.account_id == account_id,
            ServiceRequest.season_id == season_id,
            ServiceRequest.kind == kind,
            ServiceRequest.status.in_(_LIVE),
        )
    )


async def _file(
    session: AsyncSession,
    *,
    account_id: str,
    season: HeatingSeason,
    kind: str,
    amount: Decimal,
    note: str,
    clock: Clock,
    idempotency_key: str | None,
) -> tuple[ServiceRequest, bool]:
    """Insert the application, or return the live one a concurrent tap already filed."""
    prefix = f"{'BT' if kind == 'suspend' else 'HF'}{local_date(clock):%Y%m%d}"
    for _ in range(5):
        count = await session.scalar(
            select(func.count())
            .select_from(ServiceRequest)
            .where(ServiceRequest.request_no.like(f"{prefix}%"))
        )
        request = ServiceRequest(
            request_no=f"{prefix}{int(count or 0) + 1:04d}",
            account_id=account_id,
            season_id=season.id,
            kind=kind,
            quoted_amount=amount,
            note=note,
            idempotency_key=idempotency_key,
            created_at=clock.now(),
        )
        try:
            async with session.begin_nested():
                session.add(request)
        except IntegrityError:
            existing = await _live_request(session, account_id=account_id, season_id=season.id, kind=kind)
            if existing is not None:
                return existing, True
            continue  # another application took this number
        return request, False
    raise Conflict("申请提交繁忙，请稍后重试")


async def _older_arrears(
    session: AsyncSession, *, account_id: str, before: HeatingSeason, on: date
) -> Decimal:
    bills = await load_bills(session, account_id=account_id)
    return sum(
        (
            view_bill(bill, season, on=on).due_now
            for bill, season in bills
            if season.starts_on < before.starts_on
        ),
        Decimal("0.00"),
    )


async def _season_bill(session: AsyncSession, *, account_id: str, season: HeatingSeason) -> Bill | None:
    return await session.scalar(
        select(Bill).where(Bill.account_id == account_id, Bill.season_id == season.id)
    )


async def apply_suspension(
    session: AsyncSession, *, account_id: str, clock: Clock, idempotency_key: str | None = None
) -> RequestOutcome:
    account = await get_account(session, account_id=account_id)
    today = local_date(clock)
    seasons = await _seasons(session)
    upcoming, current = _upcoming(seasons, today), _current(seasons, today)
    if _open_for_application(upcoming, today):
        target, note = upcoming, ""
    elif current is not None and account.kind == "non_residential":
        target, note = current, "非居民用户采暖季内报停，费用以营业厅核算为准"
    else:
        closed = current or upcoming
        deadline = closed.suspend_apply_deadline if closed else None
        when = f"已于{deadline:%Y年%m月%d日}截止" if deadline else "已截止"
        return RequestOutcome(
            False,
            f"{closed.code if closed else '本'}采暖季的报停申请{when}，采暖季开始后居民用户不再受理报停。"
            "下一采暖季的报停请在当年10月31日前申请；如房屋空置，请关好门窗、注意防冻。",
            season_code=closed.code if closed else None,
        )
    assert target is not None
    bill = await _season_bill(session, account_id=account_id, season=target)
    if bill is not None and bill.suspended:
        return RequestOutcome(
            False, f"您的房屋{target.code}采暖季已是报停状态，无需重复申请。", season_code=target.code
        )
    existing = await _live_request(session, account_id=account_id, season_id=target.id, kind="suspend")
    if existing is not None:
        return _outcome(existing, target, duplicate=True)
    arrears = await _older_arrears(session, account_id=account_id, before=target, on=today)
    if arrears > 0:
        return RequestOutcome(
            False,
            f"您有往年欠费 {arrears} 元，须先缴清往年欠费才能办理报停。需要缴费请回复“缴费”。",
            season_code=target.code,
        )
    price = target.tariff_for(account.kind).unit_price
    amount = rules.base_fee(account.heated_area, price, suspended=True, terms=rules.SeasonTerms.of(target))
    request, duplicate = await _file(
        session,
        account_id=account_id,
        season=target,
        kind="suspend",
        amount=amount,
        note=note,
        clock=clock,
        idempotency_key=idempotency_key,
    )
    if not duplicate:
        await _announce(session, request, target, clock=clock, actor=f"account:{account.account_no}")
    return _outcome(request, target, duplicate=duplicate)


async def apply_resumption(
    session: AsyncSession, *, account_id: str, clock: Clock, idempotency_key: str | None = None
) -> RequestOutcome:
    account = await get_account(session, account_id=account_id)
    today = local_date(clock)
    seasons = await _seasons(session)
    candidates = [s for s in (_upcoming(seasons, today), _current(seasons, today)) if s is not None]
    for season in candidates:
        bill = await _season_bill(session, account_id=account_id, season=season)
        if bill is None or not bill.suspended:
            continue
        if season.starts_on > today and not _open_for_application(season, today):
            continue
        existing = await _live_request(session, account_id=account_id, season_id=season.id, kind="resume")
        if existing is not None:
            return _outcome(existing, season, duplicate=True)
        full = rules.base_fee(
            account.heated_area, bill.unit_price, suspended=False, terms=rules.SeasonTerms.of(season)
        )
        amount = full - bill.base_amount if season.starts_on <= today else full
        request, duplicate = await _file(
            session,
            account_id=account_id,
            season=season,
            kind="resume",
            amount=amount,
            note="采暖季中途恢复供暖：补缴全额减已计报停基础热费" if season.starts_on <= today else "",
            clock=clock,
            idempotency_key=idempotency_key,
        )
        if not duplicate:
            await _announce(session, request, season, clock=clock, actor=f"account:{account.account_no}")
        return _outcome(request, season, duplicate=duplicate)
    return RequestOutcome(False, "您的房屋当前是正常供暖状态，没有报停记录，无需办理恢复供暖。")


def _outcome(request: ServiceRequest, season: HeatingSeason, *, duplicate: bool) -> RequestOutcome:
    name = KIND_NAMES[request.kind]
    if duplicate:
        message = (
            f"您{season.code}采暖季的{name}申请（编号 {request.request_no}）已经提交过，"
            f"当前状态：{STATUS_NAMES[request.status]}，无需重复申请。"
        )
    elif request.kind == "suspend":
        message = (
            f"已为您提交{season.code}采暖季报停申请，编号 {request.request_no}。"
            f"报停期间按基本热费的{season.suspend_fee_ratio * 100:.0f}%缴纳基础热费，"
            f"共 {request.quoted_amount} 元。"
            "营业厅审核通过后，工作人员会在5个工作日内上门关闭入户阀门并施封，请保持电话畅通。"
        )
    else:
        message = (
            f"已为您提交{season.code}采暖季恢复供暖申请，编号 {request.request_no}，"
            f"需缴纳 {request.quoted_amount} 元。缴费成功后3个工作日内工作人员上门开栓，请勿自行拆封开阀。"
        )
    if request.note and not duplicate:
        message += f"（{request.note}）"
    return RequestOutcome(True, message, request=request, duplicate=duplicate, season_code=season.code)


async def _announce(
    session: AsyncSession, request: ServiceRequest, season: HeatingSeason, *, clock: Clock, actor: str
) -> None:
    name = KIND_NAMES[request.kind]
    await record_audit(
        session,
        clock=clock,
        actor=actor,
        action=f"service_request_{request.kind}",
        target_type="account",
        target_id=request.account_id,
        details={
            "request_no": request.request_no,
            "season": season.code,
            "amount": str(request.quoted_amount),
        },
    )
    await enqueue(
        session,
        clock=clock,
        kind="service_request",
        text=f"【{name}申请】编号{request.request_no}（{season.code}采暖季）已提交，营业厅审核后通知您。",
        account_id=request.account_id,
        payload={"request_no": request.request_no, "kind": request.kind, "status": request.status},
        dedupe_key=f"service_request:{request.id}:requested",
    )


async def decide(
    session: AsyncSession, *, request_id: str, approve: bool, actor: str, clock: Clock, reason: str = ""
) -> ServiceRequest:
    """A service hall's decision. Approval sets the season's bill to what the resident was quoted."""
    request = await session.get(ServiceRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound("未找到该申请")
    if request.status != "requested":
        raise Conflict(f"该申请当前状态为“{STATUS_NAMES[request.status]}”，不能再审核")
    season = await session.get(HeatingSeason, request.season_id)
    request.status = "approved" if approve else "rejected"
    request.handled_by, request.handled_at = actor, clock.now()
    if reason:
        request.note = f"{request.note}；{reason}".strip("；")
    name = KIND_NAMES[request.kind]
    if approve:
        await _apply_to_bill(session, request)
        follow = (
            "工作人员将在5个工作日内上门施封"
            if request.kind == "suspend"
            else "缴费成功后3个工作日内上门开栓"
        )
        text = f"【{name}申请】编号{request.request_no}已审核通过，{follow}。"
    else:
        text = f"【{name}申请】编号{request.request_no}未通过审核：{reason or '详情请咨询营业厅'}。"
    await record_audit(
        session,
        clock=clock,
        actor=actor,
        action=f"service_request_{request.status}",
        target_type="service_request",
        target_id=request.id,
        reason=reason or None,
        details={"request_no": request.request_no, "season": season.code if season else None},
    )
    await enqueue(
        session,
        clock=clock,
        kind="service_request",
        text=text,
        account_id=request.account_id,
        payload={"request_no": request.request_no, "kind": request.kind, "status": request.status},
        dedupe_key=f"service_request:{request.id}:{request.status}",
    )
    await session.flush()
    return request


async def _apply_to_bill(session: AsyncSession, request: ServiceRequest) -> None:
    """Re-price an approved season's bill so what is due online matches the quote.

    报停 on a bill already paid beyond the 报停 share is left for the hall (a refund); a mid-season
    resume keeps what was paid, so the 补缴 is exactly the full fee less the share already paid.
    """
    bill = await session.scalar(
        select(Bill).where(Bill.account_id == request.account_id, Bill.season_id == request.season_id)
    )
    if bill is None:
        return
    if request.kind == "suspend":
        if bill.amount_paid > request.quoted_amount:
            return
        bill.suspended, bill.base_amount = True, request.quoted_amount
    else:
        bill.suspended = False
        bill.base_amount = rules.round_money(bill.heated_area * bill.unit_price)
    bill.discount_amount = Decimal("0.00")
    if bill.amount_paid >= bill.base_amount:
        bill.status = "paid"
    else:
        bill.status = "partial" if bill.amount_paid > 0 else "unpaid"


async def list_requests(
    session: AsyncSession, *, status: str | None = None, limit: int = 100
) -> list[ServiceRequest]:
    stmt = select(ServiceRequest).order_by(ServiceRequest.created_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(ServiceRequest.status == status)
    return list(await session.scalars(stmt))
