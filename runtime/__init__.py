"""quantbridge.runtime — see docs/architecture.md."""
