"""Imports every model of the data layer so ``Base.metadata`` is complete (Alembic, test schemas)."""

from tools.audit import AuditLog
from tools.billing.models import Bill, InvoiceRequest, Payment, PaymentOrder, ServiceRequest
from tools.campaigns.models import Campaign, CampaignRecipient
from tools.company.models import Company, HeatingSeason, Tariff
from tools.conversations.models import Conversation, Message
from tools.crm.models import Account, Building, ChannelIdentity, Community, Resident
from tools.dispatch.models import Assignment, Worker
from tools.followups.models import Survey
from tools.labeling.models import LabelCorrection
from tools.outbox import OutboxMessage
from tools.quality.models import QualityReview
from tools.staff.models import StaffUser
from tools.tickets.models import BuildingIncident, Ticket, TicketAttachment, TicketEvent

__all__ = [
    "Account",
    "Assignment",
    "AuditLog",
    "Bill",
    "Building",
    "BuildingIncident",
    "Campaign",
    "CampaignRecipient",
    "ChannelIdentity",
    "Community",
    "Company",
    "Conversation",
    "HeatingSeason",
    "InvoiceRequest",
    "LabelCorrection",
    "Message",
    "OutboxMessage",
    "Payment",
    "PaymentOrder",
    "QualityReview",
    "Resident",
    "ServiceRequest",
    "StaffUser",
    "Survey",
    "Tariff",
    "Ticket",
    "TicketAttachment",
    "TicketEvent",
    "Worker",
]
