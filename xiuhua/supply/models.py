"""Models of the supply module."""
from .models_stock import *  # noqa: F401,F403
