"""Credential forms generated from the provider registry's schemas (外部連携アカウント管理)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import QueryDict

from kessai.providers.credentials import MASK, CredentialSchema


@dataclass(frozen=True)
class FieldView:
    key: str
    name: str  # the form input name
    input_id: str
    label: str
    kind: str
    secret: bool
    required: bool
    help: str
    value: str
    masked: str
    error: str
    choices: tuple[tuple[str, str], ...]


def credential_fields(
    schema: CredentialSchema,
    environment: str,
    *,
    masked: Mapping[str, str] | None = None,
    submitted: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[FieldView]:
    """One FieldView per schema field. Secrets are never echoed: the input stays empty and the masked
    value is shown beside it (an empty secret on edit keeps the stored value)."""
    masked = masked or {}
    submitted = submitted or {}
    errors = errors or {}
    out = []
    for f in schema.fields:
        stored = masked.get(f.key, "")
        value = "" if f.secret else submitted.get(f.key, stored)
        out.append(
            FieldView(
                key=f.key,
                name=f"cred_{f.key}",
                input_id=f"{environment}-{schema.provider}-{f.key}",
                label=f.label,
                kind=f.kind,
                secret=f.secret,
                required=f.required,
                help=f.help,
                value=value,
                masked=stored if f.secret and stored else "",
                error=errors.get(f.key, ""),
                choices=f.choices,
            )
        )
    return out


def submitted_credentials(schema: CredentialSchema, post: QueryDict, *, editing: bool) -> dict[str, str]:
    """The credential values of a POST. On edit an empty secret means "keep" (left out here too)."""
    values: dict[str, str] = {}
    for f in schema.fields:
        raw = post.get(f"cred_{f.key}", "")
        if f.secret and editing and (not raw or raw.startswith(MASK)):
            continue
        values[f.key] = raw
    return values
