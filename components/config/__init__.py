"""The typed model of a stack's config and every check of user input (being split by concern)."""

from .model import *  # noqa: F401,F403
from .model import PROJECT_ROOT, _unwrap  # noqa: F401
