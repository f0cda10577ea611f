"""Kubernetes API server emulator for the collection's tests (stdlib only, see README.md)."""
