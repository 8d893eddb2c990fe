"""atone (Net Protections 翌月後払い) provider adapter. See docs/providers/atone.md."""

from kessai.providers.atone.adapter import AtoneProvider
from kessai.providers.atone.checksum import compute_checksum, widget_checksum
from kessai.providers.atone.client import AtoneClient

__all__ = ["AtoneClient", "AtoneProvider", "compute_checksum", "widget_checksum"]
