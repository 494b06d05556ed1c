"""The front end the API serves: the web app's static files, its service worker and the API docs page."""

from __future__ import annotations

import hashlib
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

API = "/api/v1"
STATIC = Path(__file__).with_name("static")
API_DOCS = Path(__file__).with_name("apidocs")


def mount_front_end(app: FastAPI) -> None:
    app.mount(f"{API}/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="api-docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get(f"{API}/docs", include_in_schema=False)
    def api_docs() -> FileResponse:
        return FileResponse(API_DOCS / "index.html")

    @app.get(f"{API}/docs/init.js", include_in_schema=False)
    def api_docs_init() -> FileResponse:
        return FileResponse(API_DOCS / "init.js", media_type="text/javascript")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    worker = service_worker_source()

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        # At the root so that it may control the whole app, including reloads while offline.
        return Response(worker, media_type="text/javascript",
                        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})


def service_worker_source() -> str:
    """sw.js with its cache named after the shell's content, so any change to a file is picked up."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode())
        digest.update(path.read_bytes())
    source = (STATIC / "sw.js").read_text()
    return source.replace('"examsync-shell-v1"', f'"examsync-shell-{digest.hexdigest()[:16]}"')

