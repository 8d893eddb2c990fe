"""Provider registry: code → adapter class and credential schema.

Every payment provider of the ecforce seed has a credential schema (so staff can store keys
for it); only providers with an adapter can take payments. Adapters are imported lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from kessai.providers.base import Provider, ProviderSettings
from kessai.providers.credentials import SCHEMAS, CredentialSchema, UnknownProvider, schema_for

# code → "module:Class" of the adapter (constructed with ProviderSettings).
ADAPTERS: dict[str, str] = {
    "atone": "kessai.providers.atone.adapter:AtoneProvider",
    "np_atobarai": "kessai.providers.np_atobarai.adapter:NpAtobaraiProvider",
    "paidy": "kessai.providers.paidy.adapter:PaidyProvider",
    "gmo_atobarai": "kessai.providers.gmo_atobarai.adapter:GmoAtobaraiProvider",
}


@dataclass(frozen=True)
class ProviderInfo:
    code: str
    name: str
    schema: CredentialSchema
    adapter_path: str | None

    @property
    def has_adapter(self) -> bool:
        return self.adapter_path is not None


# Schemas of providers registered at run time (tests' fake provider, plug-ins).
_EXTRA_SCHEMAS: dict[str, CredentialSchema] = {}


def schema(code: str) -> CredentialSchema:
    """The credential schema of a provider; raises ``UnknownProvider`` for an unknown code."""
    extra = _EXTRA_SCHEMAS.get(code)
    return extra if extra is not None else schema_for(code)


def is_known(code: str) -> bool:
    return code in _EXTRA_SCHEMAS or code in SCHEMAS


def info(code: str) -> ProviderInfo:
    schema_ = schema(code)
    return ProviderInfo(code=code, name=schema_.name, schema=schema_, adapter_path=ADAPTERS.get(code))


def all_providers() -> list[ProviderInfo]:
    return [info(code) for code in (*SCHEMAS, *_EXTRA_SCHEMAS)]


def adapter_class(code: str) -> Callable[[ProviderSettings], Provider]:
    path = ADAPTERS.get(code)
    if path is None:
        raise UnknownProvider(f"provider {code!r} has no adapter in this version of Kessai")
    module_name, _, attr = path.partition(":")
    factory: Callable[[ProviderSettings], Provider] = getattr(importlib.import_module(module_name), attr)
    return factory


def build(code: str, settings: ProviderSettings) -> Provider:
    return adapter_class(code)(settings)


def register(code: str, path: str, credential_schema: CredentialSchema | None = None) -> None:
    """Register an adapter, and its schema if the provider is not in the built-in list (tests'
    fake provider, plug-ins)."""
    ADAPTERS[code] = path
    if credential_schema is not None:
        _EXTRA_SCHEMAS[code] = credential_schema
