"""Operations routes: whether the process is up (`/healthz`) and whether it reaches its database (`/readyz`)."""

import logging
from typing import Any

from fastapi import APIRouter

from examsync.store.database import Database
from examsync.web import errors, schemas
from examsync.web.schemas import error_responses as _errors

log = logging.getLogger("examsync")


def operations_routes(database: Database) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", response_model=schemas.Health, response_model_exclude_none=True, tags=["operations"])
    def healthz() -> dict[str, Any]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", response_model=schemas.Health, tags=["operations"], responses=_errors(503))
    def readyz() -> Any:
        """The process can reach its database."""
        try:
            database.ping()
        except Exception as error:  # any failure to reach the database means not ready
            log.warning("readiness check failed: %s", error)
            return errors.error_response("not_ready", "the database cannot be reached")
        return {"status": "ok", "database": "sqlite" if database.is_sqlite else "postgresql"}

    return router
