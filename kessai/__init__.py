"""Kessai (決済): a self-hosted payment-integration hub for Japanese e-commerce."""

__version__ = "0.1.0"
