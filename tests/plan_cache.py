"""Each stack's program evaluated once per test run, shared by the test processes.

Most of the suite's time was the same stacks evaluated again and again (prod-aws 33 times in
one run, in both xdist workers). `install()` replaces `engine.run_program` with a version that
keeps each plan it made for a stack, config, secret keys and program, and hands every caller
its own copy (unpickled afresh, so a test that edits a plan cannot change what the next one
reads). The plans are also written to a directory the pytest controller names in
$ML_CLUSTERS_PLAN_CACHE, so the other worker reads a plan instead of evaluating it again; a
lock file per plan makes the second worker wait for the first rather than evaluate in
parallel.

Never kept: calls that pass `plan=` (to see what was registered before an error),
`shortcuts=False` (the SDK's own path), a config error (raised anew by every call), and every
call inside `fresh_plans()`: determinism tests, and tests that monkeypatch (they may spy on or
change what the program does)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import time
from pathlib import Path
from typing import Any, Iterator, Optional

from preview import engine

ENV = "ML_CLUSTERS_PLAN_CACHE"
WAIT_SECONDS = 300  # the longest a worker waits for the other one's evaluation

_evaluate = getattr(engine.run_program, "evaluates", engine.run_program)
_kept: dict[str, bytes] = {}
_keeping = [True]


def _key(stack: str, config: dict[str, str], secret_keys: Any, program: Path) -> str:
    text = repr((stack, sorted(config.items()), sorted(secret_keys or ()), str(program)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _shared_dir() -> Optional[Path]:
    where = os.environ.get(ENV)
    return Path(where) if where else None


def _from_other_worker(path: Path, lock: Path) -> Optional[bytes]:
    """The plan another worker is writing, once it is there; None when it gave up (an error)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_bytes()
        if not lock.exists():
            return path.read_bytes() if path.exists() else None
        time.sleep(0.05)
    return None


def _evaluate_and_share(key: str, stack, config, secret_keys, program) -> bytes:
    shared = _shared_dir()
    if shared is None:
        return pickle.dumps(_evaluate(stack, config, secret_keys, program), protocol=pickle.HIGHEST_PROTOCOL)
    path, lock = shared / f"{key}.pickle", shared / f"{key}.lock"
    if path.exists():
        return path.read_bytes()
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        found = _from_other_worker(path, lock)
        if found is not None:
            return found
        return pickle.dumps(_evaluate(stack, config, secret_keys, program), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        data = pickle.dumps(_evaluate(stack, config, secret_keys, program), protocol=pickle.HIGHEST_PROTOCOL)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        os.replace(partial, path)
        return data
    finally:
        lock.unlink(missing_ok=True)


def run_program(stack, config, secret_keys=None, program=engine.ROOT_DIR / "__main__.py", plan=None, shortcuts=True):
    if plan is not None or not shortcuts or not _keeping[0]:
        return _evaluate(stack, config, secret_keys, program, plan, shortcuts)
    key = _key(stack, config, secret_keys, program)
    if key not in _kept:
        _kept[key] = _evaluate_and_share(key, stack, config, secret_keys, program)
    return pickle.loads(_kept[key])


run_program.evaluates = _evaluate  # type: ignore[attr-defined]


def install() -> None:
    engine.run_program = run_program


@contextlib.contextmanager
def fresh_plans() -> Iterator[None]:
    """Evaluate the program anew on every call inside the block."""
    _keeping[0] = False
    try:
        yield
    finally:
        _keeping[0] = True
