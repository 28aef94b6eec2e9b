// Starts Swagger UI (./swagger-ui, pinned) on the page of /api/docs. It is a
// file, not an inline script, because the page's Content-Security-Policy
// allows scripts from this origin only.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
  // Nothing leaves this server: no online validator badge.
  validatorUrl: null,
  // Only the description above, never one named in the page's URL.
  queryConfigEnabled: false,
  // A token typed into Authorize lives as long as the page, not in
  // localStorage.
  persistAuthorization: false,
});
