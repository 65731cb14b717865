"""Domain errors: expected failures that carry a message safe to show a resident or an agent.

    DomainError            (400) base; ``message`` is Chinese and user-safe, ``code`` is stable
    ├── Unauthenticated    (401) no or expired credentials
    ├── NotFound           (404)
    ├── PermissionDenied   (403) a caller touching data that is not theirs
    ├── InvalidInput       (422) a value that breaks a business rule
    ├── Conflict           (409) a state that does not allow the change (ticket closed, already paid)
    └── RateLimited        (429)

The HTTP layer maps these to status codes in one handler; the agent's ToolNode turns them into
tool messages the model can read. Anything else is a bug and propagates.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"
