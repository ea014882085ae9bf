"""WSGI entry point: `python serve.py` (granian, `wsgi:app`), `flask --app wsgi …`."""

from app import create_app

app = create_app()
