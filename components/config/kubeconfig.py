"""cloud existing: the kubeconfig file a stack names, read and checked for its context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .model import ExistingSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PATH_HINT = "a path to a kubeconfig file, absolute or relative to the project root"


def kubeconfig_path(setting: str) -> Path:
    """`existing.kubeconfig` as a path: `~` expanded, relative paths from the project root."""
    path = Path(setting).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def read_kubeconfig(settings: ExistingSettings) -> tuple[str, str]:
    """The kubeconfig's text and the context to use. Raises ConfigError (one line per
    problem) when the file is missing, is not a kubeconfig, or lacks the context."""
    path = kubeconfig_path(settings.kubeconfig)
    if not path.is_file():
        raise ConfigError([f"existing.kubeconfig: {settings.kubeconfig!r} does not exist (looked at {path}); allowed: {PATH_HINT}"])
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError([f"existing.kubeconfig: {settings.kubeconfig!r} is not valid YAML{line}; allowed: a kubeconfig file"]) from None
    contexts = _context_names(doc)
    if not contexts:
        raise ConfigError([f"existing.kubeconfig: {settings.kubeconfig!r} has no contexts, so it is not a kubeconfig; allowed: {PATH_HINT}"])
    context = settings.context or (doc.get("current-context") or None)
    if context is None:
        raise ConfigError([f"existing.context: not set and {settings.kubeconfig!r} has no current-context; allowed: {', '.join(contexts)}"])
    if context not in contexts:
        key = "existing.context" if settings.context else "existing.kubeconfig"
        raise ConfigError([f"{key}: context {context!r} is not in {settings.kubeconfig!r}; allowed: {', '.join(contexts)}"])
    return text, context


def _context_names(doc: Any) -> list[str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("contexts"), list):
        return []
    return sorted(str(c["name"]) for c in doc["contexts"] if isinstance(c, dict) and c.get("name"))
