"""Reversible, human-readable text forms of byte strings and compact JSON output.

BPE tokens are byte strings that need not be valid UTF-8 (a merge can stop in
the middle of a multi-byte character). To list them readably in a JSON file a
token is shown as its UTF-8 text, with each byte that is not part of a valid
character written as ``\\xNN`` and each literal backslash doubled. So ``b" the"``
reads ``" the"``, ``"é".encode()`` reads ``"é"`` and ``b"\\xc3"`` reads ``"\\xc3"``.
"""

from __future__ import annotations

import json
import re
from typing import Any

_ESCAPE = re.compile(r"(\\\\|\\x[0-9a-fA-F]{2})")


def bytes_to_readable(token: bytes) -> str:
    """Return the readable form of ``token``; :func:`readable_to_bytes` inverts it."""
    # Doubling real backslashes first keeps them distinct from the \xNN escapes
    # that "backslashreplace" writes for undecodable bytes.
    return token.replace(b"\\", b"\\\\").decode("utf-8", errors="backslashreplace")


def readable_to_bytes(text: str) -> bytes:
    """Return the bytes whose readable form is ``text``.

    Raises:
        ValueError: If ``text`` has a backslash that starts neither ``\\\\`` nor ``\\xNN``.
    """
    out = bytearray()
    # re.split with a capture group alternates plain text (even) and escapes (odd).
    for i, part in enumerate(_ESCAPE.split(text)):
        if i % 2:
            out += b"\\" if part == "\\\\" else bytes.fromhex(part[2:])
        elif "\\" in part:
            raise ValueError(
                f"invalid escape in token {text!r}: use '\\\\' for a backslash or '\\xNN' for a byte"
            )
        else:
            out += part.encode("utf-8")
    return bytes(out)


def dumps_compact(data: dict[str, Any]) -> str:
    """Serialize ``data`` as JSON with one top-level key per line and one list item per line.

    ``json.dumps(indent=...)`` would spread every two-element merge over four
    lines; this keeps each merge (or vocabulary entry) on a line of its own.
    """
    lines = []
    for key, value in data.items():
        k = json.dumps(key, ensure_ascii=False)
        if isinstance(value, list) and value:
            items = ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value)
            lines.append(f" {k}: [\n{items}\n ]")
        elif isinstance(value, dict) and value:
            items = ",\n".join(
                f"  {json.dumps(ik, ensure_ascii=False)}: {json.dumps(iv, ensure_ascii=False)}"
                for ik, iv in value.items()
            )
            lines.append(f" {k}: {{\n{items}\n }}")
        else:
            lines.append(f" {k}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
