"""The application's use cases, one module per area: what a student, a staff member or the server does.

Each use case runs in one transaction acting for its actor and talks to the database only through `store/`;
the rules themselves live in `domain/`.
"""

from examsync.services.sessions import RESCUE_SOURCE, SessionService, wall_clock_ms

__all__ = ["RESCUE_SOURCE", "SessionService", "wall_clock_ms"]
