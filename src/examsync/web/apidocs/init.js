// Served by the app so the API docs work with no network and under a strict CSP.
window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui" });
