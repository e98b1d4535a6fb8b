"""repr() that never raises: a notebook echoing an object must show it, not a traceback, even
when its store has gone away or one of its members is broken."""

from __future__ import annotations

import functools

_NOTE_LIMIT = 200


def error_note(error: BaseException) -> str:
    """A short one-line account of ``error``: its type and the first line of its message."""
    try:
        lines = str(error).strip().splitlines()
        text = lines[0] if lines else ""
    except Exception:  # noqa: BLE001 - an exception whose str() fails still gets its type named
        text = ""
    if len(text) > _NOTE_LIMIT:
        text = text[: _NOTE_LIMIT - 3] + "..."
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def attempt(fn, default: str = "?") -> str:
    """``fn()`` as text, or ``default`` with a note of why it failed."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - see module docstring
        return f"{default} ({error_note(e)})"


def never_raises(method):
    """Wraps a ``__repr__`` / ``__str__`` / ``_repr_html_``: when it fails, the result names the
    object's type and the error instead."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as e:  # noqa: BLE001 - see module docstring
            try:
                cls = type(self)
                return f"<{cls.__module__}.{cls.__qualname__} at {id(self):#x} (repr failed: {error_note(e)})>"
            except Exception:  # noqa: BLE001 - last resort, with nothing left that can fail
                return "<cuzarr object (repr failed)>"

    return wrapper
