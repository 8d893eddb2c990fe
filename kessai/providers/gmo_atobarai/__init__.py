"""GMO後払い (GMOペイメントサービス) provider adapter. See docs/providers/gmo-atobarai.md."""

from kessai.providers.gmo_atobarai.adapter import GmoAtobaraiProvider
from kessai.providers.gmo_atobarai.client import GmoAtobaraiClient

__all__ = ["GmoAtobaraiClient", "GmoAtobaraiProvider"]
