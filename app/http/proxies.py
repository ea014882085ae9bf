"""Behind a reverse proxy: the client's address and scheme from the proxy's X-Forwarded-* headers."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    """Trust X-Forwarded-For and X-Forwarded-Proto from exactly TRUSTED_PROXIES proxies (0: none).

    Werkzeug's ProxyFix takes the value the n-th proxy from the server appended, so a client
    cannot choose its address by sending the header itself, provided n is the real number of
    proxies in front of the server. It rewrites the WSGI environment, so `request.remote_addr`
    (rate limits) and URLs the app builds (`Link`, `Location`) see the client's address and
    scheme. The host comes from the Host header, which the proxy must pass on as the client sent
    it; X-Forwarded-Host is not trusted, since common proxy setups pass a client's own through.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
