"""Locate data directories shipped with kg-memory (``schemas``, ``queries``).

In an installed wheel they live in ``kg_memory/_data/<name>``; in a source
checkout they are top-level folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

from kg_memory.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory holding the data resource ``name``.

    Parameters
    ----------
    name:
        Folder name, such as ``"schemas"`` or ``"queries"``.

    Returns
    -------
    Path
        ``kg_memory/_data/<name>`` when it exists (installed wheel), else
        ``<repo root>/<name>`` (source checkout).

    Raises
    ------
    ConfigError
        If neither directory exists.

    Examples
    --------
    >>> resource_dir("schemas").name
    'schemas'
    """
    candidates = (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigError(f"resource directory {name!r} not found (tried {tried})")
