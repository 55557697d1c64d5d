"""quantbridge.bridge — see docs/architecture.md."""
