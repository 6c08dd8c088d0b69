"""File exchange with the clearinghouse: the ``Transport`` protocol, SFTP and local folders.

``SftpTransport`` is imported lazily (it pulls in paramiko)::

    from pipeline.transport import load_profile, SftpTransport
    with SftpTransport(load_profile("embedded", port=port)) as t:
        t.upload(Path("837P_000000101.x12"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.transport.base import (
    DownloadResult,
    RemoteFile,
    Transport,
    UploadResult,
    receive,
    safe_remote_name,
)
from pipeline.transport.local import LocalTransport
from pipeline.transport.profiles import ClearinghouseProfile, load_profile
from pipeline.transport.retry import RetryPolicy

if TYPE_CHECKING:
    from pipeline.transport.sftp import SftpTransport

__all__ = [
    "ClearinghouseProfile",
    "DownloadResult",
    "LocalTransport",
    "RemoteFile",
    "RetryPolicy",
    "SftpTransport",
    "Transport",
    "UploadResult",
    "load_profile",
    "open_transport",
    "receive",
    "safe_remote_name",
]


def __getattr__(name: str) -> Any:
    if name == "SftpTransport":
        from pipeline.transport.sftp import SftpTransport

        return SftpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_transport(profile: ClearinghouseProfile) -> Transport:
    """The transport a profile describes (``protocol: sftp`` or ``local``)."""
    if profile.protocol == "local":
        assert profile.local_root is not None  # the profile validator guarantees it
        folders = profile.folders
        return LocalTransport(
            profile.local_root,
            outbound=folders.outbound,
            inbound=folders.inbound,
            archive=folders.archive,
            settle_seconds=profile.settle_seconds,
        )
    from pipeline.transport.sftp import SftpTransport

    return SftpTransport(profile)
