"""Provider SDK layer: one package per provider, no Django imports.

from kessai.providers import atone
from kessai.providers.base import OrderData, ProviderSettings
"""
