"""gunicorn settings used by `make run` (override with GUNICORN_* variables or --flags)."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# gthread: a long CSV export streams in its own thread instead of being killed as a stuck sync worker.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
accesslog = "-"
# No shared ~/.gunicorn/gunicorn.ctl: two servers on one machine must not fight over it.
control_socket_disable = True
