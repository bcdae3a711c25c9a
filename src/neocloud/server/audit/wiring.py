"""Turning the audit log on for an app: listeners, middleware and the read routes."""

from __future__ import annotations

from fastapi import FastAPI

from neocloud.server.audit import listener
from neocloud.server.audit.middleware import AuditMiddleware
from neocloud.server.audit.router import router
from neocloud.store.db import Database


def install_audit(app: FastAPI, db: Database) -> None:
    """Audit every state-changing call `app` serves, and serve `/v1/audit`."""
    listener.install()
    app.add_middleware(AuditMiddleware, db=db)
    app.include_router(router)
