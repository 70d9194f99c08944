"""Which URLs an import may hand to the hub: attachment and brush-mask URLs.

Only ``http``, ``https``, ``s3`` and ``gs`` URLs with a host are sent. ``javascript:``,
``data:``, ``file:`` or a bare path would be stored on the hub and opened by every annotator's
browser (or fail there much later); they are refused as ``invalid_url`` before anything is sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import numpy as np

__all__ = ["SCHEMES", "invalid_urls"]

#: The URL schemes an attachment or brush mask may use.
SCHEMES = frozenset(("http", "https", "s3", "gs"))


def _valid(value: Any) -> bool:
    if not isinstance(value, str):
        return True  # not text: reported as wrong_type by the caller
    text = value.strip()
    if text != value or any(ch in text for ch in "\r\n\t\x00"):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in SCHEMES and bool(parts.netloc)


def invalid_urls(values: np.ndarray) -> np.ndarray:
    """A mask of the present text values that are no URL the hub should get."""
    return np.fromiter(
        (v is not None and not _valid(v) for v in values.tolist()), dtype=bool, count=len(values)
    )
