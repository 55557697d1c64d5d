"""Command-line interface (``quantbridge``). Sits on top of every layer."""
