"""Small framework-light helpers shared by the Django apps (ids, text normalisation, JST)."""
