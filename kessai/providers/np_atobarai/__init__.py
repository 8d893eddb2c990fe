"""NP後払い (Net Protections, REST/JSON merchant API) provider adapter. See docs/providers/np-atobarai.md."""

from kessai.providers.np_atobarai.adapter import NpAtobaraiProvider
from kessai.providers.np_atobarai.client import NpAtobaraiClient

__all__ = ["NpAtobaraiClient", "NpAtobaraiProvider"]
