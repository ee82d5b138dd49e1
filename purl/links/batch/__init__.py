"""Batch minting: a CRM or Excel export in, the same list with personal links out.

``generate`` is the one entry point the CLI, the console's jobs and the API call. Each module
here does one step: ``columns`` maps the header, ``source`` reads the file and cuts it into
blocks, ``rows`` turns a block into checked rows and output lines (in any process), ``store``
writes them through the database's bulk path, ``run`` drives it all; ``uploads`` keeps the
console's uploaded lists.
"""

from __future__ import annotations

from purl.links.batch.columns import CHANNELS, BatchError, check_mapping, map_header
from purl.links.batch.rows import FIELDS
from purl.links.batch.run import Options, Result, generate
from purl.links.batch.source import Preview, preview
from purl.links.identity import identity_for

__all__ = ["CHANNELS", "FIELDS", "BatchError", "Options", "Preview", "Result", "check_mapping",
           "generate", "identity_for", "map_header", "preview"]
