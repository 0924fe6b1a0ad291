"""Canonical examples, format readers/writers, and validation that fails early."""

from perceptrl.data.schema import Box, Example

__all__ = ["Box", "Example"]
