"""Which pages may show examsync in a frame (CSP frame-ancestors), for LTI.

Nothing may, as before LTI, until a platform is registered. Then the web app's shell and the LTI pages (never the
API) may be framed by the registered platforms' own origins and by those EXAMSYNC_LTI_FRAME_ANCESTORS names (an LMS
often frames tools from another host than its issuer: a school's Canvas address, not canvas.instructure.com).
The platforms are read at most every `TTL_SECONDS`, so another instance's registration is picked up soon.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("examsync.lti")

TTL_SECONDS = 30.0


class Framing:
    def __init__(self, platform_origins: Callable[[], list[str]], extra: str) -> None:
        self._origins, self._extra = platform_origins, extra.split()
        self._lock = threading.Lock()
        self._cached: tuple[float, str | None] | None = None

    def ancestors(self) -> str | None:
        """The frame-ancestors sources for framable pages; None while framing is off."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < TTL_SECONDS:
                return self._cached[1]
        try:
            origins = self._origins()
        except Exception:  # the database is out of reach: the page is still served, unframable until it is back
            log.warning("could not read the LTI platforms; framing is off for now", exc_info=True)
            origins = []
        value = " ".join(["'self'", *origins, *self._extra]) if origins else None
        with self._lock:
            self._cached = (time.monotonic(), value)
        return value

    def forget(self) -> None:
        """Read the platforms again on the next request (one was registered here)."""
        with self._lock:
            self._cached = None
