from __future__ import annotations

from tests.reconcile.conftest import result

__all__ = ["result"]
