// The API documentation pages (/docs, /redoc): started from this file, not from an inline
// <script>, so that the pages keep the administration's CSP (script-src 'self').
(function () {
  "use strict";
  function start() {
    var swagger = document.getElementById("swagger-ui");
    if (swagger && window.SwaggerUIBundle) {
      window.ui = window.SwaggerUIBundle({
        url: swagger.dataset.openapiUrl,
        dom_id: "#swagger-ui",
        layout: "BaseLayout",
        deepLinking: true,
        showExtensions: true,
        showCommonExtensions: true,
        // No badge image from the public validator: the closed network has none to reach.
        validatorUrl: null,
        presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset].filter(Boolean)
      });
    }
    var redoc = document.getElementById("redoc");
    if (redoc && window.Redoc) {
      // ReDoc's styled-components put the nonce on the <style> elements they create; the
      // page's CSP admits exactly that nonce for styles.
      window.Redoc.init(redoc.dataset.openapiUrl, { nonce: redoc.dataset.styleNonce }, redoc);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
