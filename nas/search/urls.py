"""Storage URLs as they may be shown and stored: never with their password.

A PostgreSQL URL may carry a password (``postgresql+psycopg://user:SECRET@host/db``). It is
shown masked (SQLAlchemy's own rendering, ``***``) in every message, summary and report, and
stored without it (``config.json``): a resumed search gets it from the URL given again, or
the database driver finds it in the environment (``PGPASSWORD``) or a ``.pgpass`` file. Local
workers receive their spec through the environment, never on a command line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.errors import SparseNASError

_USERINFO = re.compile(r"(?P<head>://[^:/@]*):[^@/]*@")


def sqlite_path(url: Any) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL (as written: relative or absolute); None for any
    other storage, an in-memory database or a URL with options."""
    if isinstance(url, str) and url.startswith("sqlite:///") and "?" not in url:
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            return Path(path)
    return None


def _parsed(url: str) -> Any | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        return None


def shown_url(url: Any) -> Any:
    """``url`` with its password masked, for people to read; other values as they are."""
    if not isinstance(url, str) or "@" not in url:
        return url
    parsed = _parsed(url)
    if parsed is None:  # not a URL SQLAlchemy reads: mask what looks like user:password@
        return _USERINFO.sub(r"\g<head>:***@", url)
    return parsed.render_as_string(hide_password=True)


def stored_url(url: Any) -> Any:
    """``url`` without its password, to write into files; other values as they are."""
    if not isinstance(url, str) or "@" not in url:
        return url
    parsed = _parsed(url)
    if parsed is None:
        return _USERINFO.sub(r"\g<head>@", url)
    if parsed.password is None:
        return url
    from sqlalchemy.engine import URL

    bare = URL.create(
        parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database,
        parsed.query,
    )  # fmt: skip
    return bare.render_as_string(hide_password=False)


def redacted(text: str, url: Any) -> str:
    """``text`` (an error's message, say) with ``url``'s password masked wherever it shows."""
    parsed = _parsed(url) if isinstance(url, str) else None
    password = parsed.password if parsed is not None else None
    return text.replace(str(password), "***") if password else text


def unopenable(url: str, exc: BaseException) -> SparseNASError:
    """The error of a storage that cannot be opened: the URL and the reason, both without
    the password."""
    reason = redacted(" ".join(f"{type(exc).__name__}: {exc}".split()), url)[:200]
    return SparseNASError(f"cannot open storage {shown_url(url)!r} ({reason})")


def check_storage_url(url: str) -> None:
    """Refuse a storage URL SQLAlchemy cannot read or has no dialect for (``nosuch://x``),
    before Optuna is imported; the database itself is opened by
    ``nas.search.storage.open_storage``, which also names a missing driver."""
    from sqlalchemy.engine import make_url

    try:
        make_url(url).get_dialect()
    except ImportError:
        return  # a dialect whose driver is missing: open_storage says how to install it
    except Exception as exc:  # noqa: BLE001 (ArgumentError, NoSuchModuleError, ValueError...)
        raise unopenable(url, exc) from None
