"""Readers of repos: each returns a Snapshot (config, tensor names/shapes/dtypes, files); no weights."""
