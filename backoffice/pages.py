"""The agent console: one HTML page, a script and a stylesheet served from backoffice/static/.

No build step and no CDN, so the console works on an office network without internet. A strict
Content-Security-Policy allows only these same-origin files: no inline script, no third-party
code, and the page cannot be framed.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from tools.errors import NotFound

STATIC = Path(__file__).parent / "static"
_ASSETS = {
    "console.js": "application/javascript; charset=utf-8",
    "console-tabs.js": "application/javascript; charset=utf-8",
    "console-actions.js": "application/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/console")
async def console() -> FileResponse:
    return FileResponse(
        STATIC / "console.html", media_type="text/html; charset=utf-8", headers=_SECURITY_HEADERS
    )


@router.get("/console/")
async def console_slash() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/console/static/{name}")
async def asset(name: str) -> FileResponse:
    # A fixed allow-list: no path from the URL ever reaches the file system.
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise NotFound("文件不存在")
    return FileResponse(STATIC / name, media_type=media_type, headers=_SECURITY_HEADERS)
