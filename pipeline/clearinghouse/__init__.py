"""The embedded clearinghouse simulator: an SFTP server on loopback plus payers that adjudicate.

    from pipeline.clearinghouse import Clearinghouse, Faults, Responder, read_ground_truth

``Responder(root, seed, practice=...)`` is the pure, synchronous engine (inbound file in,
response files out); ``Clearinghouse`` serves it over SFTP (asyncssh is imported only when it
starts). See ``README.md`` for the folders, the fault switches and the ground-truth format.
"""

from __future__ import annotations

from pipeline.clearinghouse.responder import Faults, Layout, Responder
from pipeline.clearinghouse.server import Clearinghouse
from pipeline.clearinghouse.truth import read_ground_truth

__all__ = ["Clearinghouse", "Faults", "Layout", "Responder", "read_ground_truth"]
