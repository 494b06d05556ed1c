"""The HTTP layer: translation between JSON and the services, nothing more."""
