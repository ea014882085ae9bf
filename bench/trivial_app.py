"""The floor: the cheapest Flask endpoint, served under the same gunicorn settings as the app.

gunicorn --config gunicorn.conf.py -w 1 --threads 4 --chdir bench trivial_app:app
(the app's gunicorn.conf.py: gthread, its access log; one worker, as the app is measured)
"""

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping():
    return {"ok": True}
