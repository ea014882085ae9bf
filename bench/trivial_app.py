"""The floor: the cheapest Flask endpoint, served under the same server settings as the app.

cd bench && WEB_CONCURRENCY=1 WEB_THREADS=4 PYTHONPATH=. python ../serve.py trivial_app:app
(granian as serve.py starts it; one worker, as the app is measured). bench/slow_clients.py also
serves it under gunicorn gthread for the comparison.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping():
    return {"ok": True}
