"""Request and response shapes of API v1 (design.md "Shapes" is normative)."""
