"""Byte-level readers for container formats (bounded, read-only, no third-party code)."""
