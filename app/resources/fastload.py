"""Transitional re-export: the fast loader moved to app/fast/load.py."""

from app.fast.load import *  # noqa: F403
from app.fast.load import compile_loader, loader_for  # noqa: F401
