"""What a file's name says of its time: the dates apps write into the names they give
(WhatsApp, Telegram, Signal, screenshot tools, phone cameras; see
:mod:`evidence_cli.formats.filename`).

Runs on every regular file (the archive reader reads its members' stored names with the
same :func:`~evidence_cli.formats.filename.parse_path`, for every member). The name is the
file's name now: the record says which app names files this way and what the time is, never
that this app named this file. The capture-time check runs in the scanner, which knows the
capture time (``name-date-conflict``).
"""

from __future__ import annotations

from evidence_cli.extractors.base import FileContext, register
from evidence_cli.formats import filename
from evidence_cli.models import Extraction

NAME = filename.SOURCE

#: What this reader gives the files it has nothing to say of (nearly all): one shared
#: value, never changed, as making one costs more than the reading here (2 µs).
NOTHING = Extraction(extractor=NAME, group=NAME)


@register
class FilenameExtractor:
    name = NAME
    description = "Dates apps write into file names (WhatsApp, Telegram, Signal, screenshots, phone cameras)"
    mime_types: frozenset[str] = frozenset()

    def extract(self, ctx: FileContext) -> Extraction:
        found = filename.parse_path(ctx.rel_path, backslash=False)
        if found is None:
            return NOTHING
        return Extraction(extractor=self.name, group=self.name, tags=found.tags(), timestamps=(found.timestamp,))
