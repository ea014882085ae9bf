"""The floor: the cheapest Flask endpoint, served under the same gunicorn settings as the app.

gunicorn -w 1 -k gthread --threads 4 --chdir bench trivial_app:app
"""

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping():
    return {"ok": True}
