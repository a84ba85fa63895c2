"""Filesystem extractor: ownership and identity from the stat taken before reading.

This module is the template for new extractors. It shows every part of the contract:

1. a class with ``name``, ``description`` and ``mime_types``, registered with
   ``@register`` (and imported in ``extractors/__init__.py``);
2. ``extract(ctx)`` that only reads what ``ctx`` offers (here: ``ctx.stat``; never a
   new ``stat``, which could see a different file or change access times);
3. raw values kept as stored, JSON-safe, under the extractor's group;
4. an ``Extraction`` returned with tags/timestamps/gps/device/problems; damage is a
   problem in it; only "not my format" raises ``UnsupportedFile``.
"""

from __future__ import annotations

import stat as stat_mod

from evidence_cli.extractors.base import FileContext, register
from evidence_cli.models import Extraction


@register
class FilesystemExtractor:
    name = "filesystem"
    description = "Ownership, permissions and inode identity from the pre-read stat"
    # Empty: runs for every regular file whatever its type.
    mime_types: frozenset[str] = frozenset()

    def extract(self, ctx: FileContext) -> Extraction:
        st = ctx.stat
        tags = {
            # Octal text as `ls -l`/`stat` show it, plus the symbolic form.
            "mode": f"{stat_mod.S_IMODE(st.st_mode):04o}",
            "mode_text": stat_mod.filemode(st.st_mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "inode": st.st_ino,
            "device": st.st_dev,
            "links": st.st_nlink,
        }
        # No timestamps here: filesystem times are the record's "filesystem" field,
        # filled by the scanner from this same stat.
        return Extraction(extractor=self.name, group=self.name, tags=tags)
