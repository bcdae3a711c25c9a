"""Downloads: what a file route sends, and the response that sends it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Response
from fastapi.responses import JSONResponse

from neocloud.server.http.org_failures import FAILED_ORGS_HEADER


@dataclass(frozen=True, slots=True)
class File:
    """What a download route sends: the body, its media type, a file name, and whether a
    browser should save it (CSV, Parquet) or show it (JSON, HTML)."""

    content: str | bytes | dict[str, object]
    media_type: str
    filename: str
    attachment: bool = True
    # Ids of orgs whose invoices could not be exported (see org_failures); the rest are there.
    failed_orgs: tuple[str, ...] = ()


def send(file: File) -> Response:
    """A file as a response named by Content-Disposition."""
    how = "attachment" if file.attachment else "inline"
    disposition = {"Content-Disposition": f'{how}; filename="{file.filename}"'}
    if file.failed_orgs:
        # The file holds every other org; these could not be exported (see /v1/health/orgs).
        disposition[FAILED_ORGS_HEADER] = ", ".join(file.failed_orgs)
    if isinstance(file.content, dict):
        return JSONResponse(file.content, headers=disposition)
    return Response(file.content, media_type=file.media_type, headers=disposition)
