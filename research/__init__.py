"""quantbridge.research — see docs/architecture.md."""
