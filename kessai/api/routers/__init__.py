"""API v1 routers: parse → call a service or selector → serialise. No business logic here."""
