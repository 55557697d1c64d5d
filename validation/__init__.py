"""quantbridge.validation — see docs/architecture.md."""
