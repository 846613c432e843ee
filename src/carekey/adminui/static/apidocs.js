// The API documentation pages (/docs, /redoc): started from this file, not from an inline
// <script>, so that the pages keep the administration's CSP (script-src 'self').
(function () {
  "use strict";
  // ReDoc 2.5 shows Redocly's logo from their CDN in its side menu, and no option turns it off:
  // on a closed network a request that cannot leave, and under the CSP (img-src 'self') a
  // logged violation. That one address is dropped before the image asks for it; ReDoc then
  // shows its "API docs by Redocly" link without the logo (the image's error handler).
  var REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  function dropRedoclyLogo() {
    var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
    Object.defineProperty(HTMLImageElement.prototype, "src", {
      configurable: true,
      enumerable: src.enumerable,
      get: src.get,
      set: function (value) { src.set.call(this, value === REDOCLY_LOGO ? "" : value); }
    });
  }

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
      dropRedoclyLogo();
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
