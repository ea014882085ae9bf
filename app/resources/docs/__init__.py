"""Swagger UI 5, served from the swagger-ui-bundle-v2 package: no CDN, works on closed networks."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template_string, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("docs", __name__)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Shutdown incident tracker — API</title>
  <link rel="stylesheet" href="{{ url_for('docs.asset', filename='swagger-ui.css') }}">
  <link rel="icon" type="image/png" href="{{ url_for('docs.asset', filename='favicon-32x32.png') }}">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{{ spec_url }}"></div>
  <script src="{{ url_for('docs.asset', filename='swagger-ui-bundle.js') }}"></script>
  <script src="{{ url_for('docs.asset', filename='swagger-ui-standalone-preset.js') }}"></script>
  <script src="{{ url_for('docs.initializer') }}"></script>
</body>
</html>
"""

# A separate file rather than an inline script, so the Content-Security-Policy can stay 'self'.
INITIALIZER = """window.onload = function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: "none",
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
"""


@blp.route("/docs")
def docs_redirect():
    return redirect(url_for("docs.page"), code=308)


@blp.route("/docs/")
def page():
    return render_template_string(PAGE, spec_url=url_for("api-docs.openapi_json"))


@blp.route("/docs/swagger-initializer.js")
def initializer():
    return Response(INITIALIZER, mimetype="text/javascript")


@blp.route("/docs/assets/<path:filename>")
def asset(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
