"""The published JSON Schema of the scan export (``evidence-cli/scan/1``).

``scan-record.schema.json`` (draft 2020-12) describes the whole JSON export at its
root; the JSON Lines header line, closing line and the file record are under
``$defs`` (``jsonl_header``, ``jsonl_closing``, ``file_record``). Validating needs
a JSON Schema library (``jsonschema``, a test extra); loading does not.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "scan-record.schema.json"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the scan export, as a fresh dict (callers may change it)."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def definition_schema(name: str) -> dict[str, Any]:
    """A schema for one entry of ``$defs`` (e.g. ``file_record``, ``jsonl_header``).

    The definitions travel with it, so its internal references still resolve.
    """
    schema = load_schema()
    if name not in schema["$defs"]:
        raise KeyError(f"no definition {name!r} in {SCHEMA_FILE}")
    return {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{name}"}
