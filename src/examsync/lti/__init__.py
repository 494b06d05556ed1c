"""examsync as an LTI 1.3 tool (docs/lti.md): its keys, the platforms' keys, its configuration and its commands.

The launch rules are in `examsync.domain.lti`, the use cases in `examsync.services.lti_*`, the SQL in
`examsync.store.lti` and the HTTP endpoints in `examsync.web.lti_routes`.
"""
