"""Clearinghouse profiles: ``mappings/clearinghouses/<name>.yaml`` -> :class:`ClearinghouseProfile`.

A profile says where and how to exchange files with one clearinghouse: host, port, user, the
client key and the known_hosts file that pins the server's host key, the outbound / inbound /
archive folders, how uploads are named, which acknowledgments come back and how often to poll.
An optional ``realtime:`` block names the CORE real-time endpoint and its pinned certificate.
Relative key and certificate paths are resolved against ``base_dir`` (default
``CLAIMFLOW_HOME``), so the embedded simulator's profile works wherever its keys were made.
"""

from __future__ import annotations

import posixpath
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ConfigError, UnsafeRemoteName
from pipeline.transport.base import safe_remote_name
from pipeline.transport.retry import RetryPolicy

__all__ = [
    "ClearinghouseProfile",
    "Folders",
    "Polling",
    "RealtimeEndpoint",
    "RetrySettings",
    "is_profile_path",
    "load_profile",
    "write_profile",
]

Acknowledgment = Literal["TA1", "999", "277CA"]
Returned = Literal["271", "TA1", "999", "277CA", "835"]

#: Placeholders an ``upload_name`` pattern may use (``str.format`` syntax).
UPLOAD_NAME_FIELDS = frozenset(
    {"transaction", "sender_id", "receiver_id", "control_number", "created", "name"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Folders(_Strict):
    """Remote folders (POSIX paths on the server; relative ones start at the login folder)."""

    outbound: str
    inbound: str
    archive: str | None = None

    @field_validator("outbound", "inbound", "archive")
    @classmethod
    def _plain_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value or ".." in value.split("/") or "\\" in value:
            raise ValueError(f"folder {value!r} must be a plain POSIX path without '..'")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("folder contains control characters")
        return posixpath.normpath(value)


class Polling(_Strict):
    """How often to look for answers, and for how long after an upload."""

    interval_seconds: float = Field(default=300, gt=0)
    max_wait_seconds: float = Field(default=14400, gt=0)


class RetrySettings(_Strict):
    attempts: int = Field(default=5, ge=1)
    initial_delay_seconds: float = Field(default=1.0, ge=0)
    max_delay_seconds: float = Field(default=60.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.attempts,
            initial_delay=self.initial_delay_seconds,
            max_delay=self.max_delay_seconds,
            multiplier=self.multiplier,
        )


class RealtimeEndpoint(_Strict):
    """The clearinghouse's real-time endpoint (CAQH CORE connectivity, SOAP 1.2 over HTTPS).

    ``certificate`` pins the server: only a certificate chaining to this PEM is accepted (the
    clearinghouse's own certificate or its CA, obtained out of band). Credentials come from
    ``CLAIMFLOW_REALTIME_USERNAME`` / ``CLAIMFLOW_REALTIME_PASSWORD``, never from here.
    """

    url: str
    certificate: Path
    timeout_seconds: float = Field(default=20, gt=0, le=60)
    """CORE: a real-time answer within 20 seconds."""

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("real-time url must be https://")
        return value


class ClearinghouseProfile(_Strict):
    """One clearinghouse connection (see ``mappings/clearinghouses/example.yaml``)."""

    name: str
    description: str = ""
    protocol: Literal["sftp", "local"] = "sftp"
    host: str = ""
    port: int = Field(default=22, ge=0, le=65535)
    """0 only for the embedded simulator: pass its port when loading."""
    user: str = ""
    key_path: Path | None = None
    known_hosts_path: Path | None = None
    local_root: Path | None = None
    """``protocol: local``: the mounted share holding the folders."""
    folders: Folders
    after_download: Literal["archive", "delete"] = "archive"
    settle_seconds: float = Field(default=0, ge=0)
    """Leave inbound files younger than this for the next run (servers that write in place)."""
    upload_name: str = "{name}"
    acknowledgments: tuple[Acknowledgment, ...] = ("TA1", "999", "277CA")
    returns: tuple[Returned, ...] = ("271", "TA1", "999", "277CA", "835")
    polling: Polling = Field(default_factory=Polling)
    connect_timeout_seconds: float = Field(default=15, gt=0)
    operation_timeout_seconds: float = Field(default=60, gt=0)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    realtime: RealtimeEndpoint | None = None
    """Real-time eligibility and claim status (CORE); None: batch files only."""

    @field_validator("upload_name")
    @classmethod
    def _known_placeholders(cls, pattern: str) -> str:
        fields = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
        unknown = {f.split(".")[0].split("[")[0] for f in fields} - UPLOAD_NAME_FIELDS
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {sorted(unknown)}; use {sorted(UPLOAD_NAME_FIELDS)}"
            )
        return pattern

    @model_validator(mode="after")
    def _complete(self) -> ClearinghouseProfile:
        if self.protocol == "sftp":
            missing = [
                f for f in ("host", "user", "key_path", "known_hosts_path") if not getattr(self, f)
            ]
            if missing:
                raise ValueError(f"sftp profile needs {', '.join(missing)}")
        elif self.local_root is None:
            raise ValueError("local profile needs local_root")
        if self.after_download == "archive" and self.folders.archive is None:
            raise ValueError("after_download: archive needs folders.archive")
        return self

    def upload_name_for(
        self,
        *,
        transaction: str,
        control_number: int | str,
        sender_id: str = "",
        receiver_id: str = "",
        name: str = "",
        created: datetime | None = None,
    ) -> str:
        """The remote name of an upload, from the profile's ``upload_name`` pattern.

        ``control_number`` is the ISA13 (int or its 9-digit string), so names are unique per
        interchange and a re-send of the same interchange gets the same name.
        """
        values = {
            "transaction": transaction,
            "control_number": int(control_number),
            "sender_id": sender_id.strip(),
            "receiver_id": receiver_id.strip(),
            "name": name,
            "created": created or datetime.now(UTC),
        }
        try:
            remote = self.upload_name.format(**values)
            return safe_remote_name(remote)
        except (ValueError, KeyError, IndexError) as exc:
            raise ConfigError(f"clearinghouse {self.name}: upload_name: {exc}") from exc
        except UnsafeRemoteName as exc:
            raise ConfigError(f"clearinghouse {self.name}: upload_name gives {exc}") from exc


def load_profile(
    name_or_path: str | Path,
    *,
    base_dir: Path | None = None,
    mappings_dir: Path | None = None,
    **overrides: Any,
) -> ClearinghouseProfile:
    """Load a profile by name (``mappings/clearinghouses/<name>.yaml``) or from a YAML path.

    Relative ``key_path`` / ``known_hosts_path`` / ``local_root`` resolve against ``base_dir``
    (default: settings ``home``); ``~`` is expanded. ``overrides`` replace top-level keys
    (e.g. ``port=server.port`` for the simulator). Any problem is one :class:`ConfigError` line.
    """
    path = _profile_path(name_or_path, mappings_dir)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read clearinghouse profile ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({_one_line(exc)})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a clearinghouse profile must be a mapping")
    raw.setdefault("name", path.stem)
    raw.update(overrides)
    try:
        profile = ClearinghouseProfile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "profile"
        raise ConfigError(f"{path}: {where}: {err['msg']}") from exc
    return _resolve_paths(profile, base_dir)


def is_profile_path(name_or_path: str | Path) -> bool:
    """A YAML file rather than a name in ``mappings/clearinghouses/``."""
    text = str(name_or_path)
    return isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml"))


def write_profile(profile: ClearinghouseProfile, path: Path) -> Path:
    """Write ``profile`` as YAML that :func:`load_profile` reads back (atomic, owner-only).

    Key, known_hosts and certificate paths should be absolute, so the file works from anywhere.
    """
    import os

    data = profile.model_dump(mode="json", exclude_none=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(yaml.safe_dump(data, sort_keys=False))
    os.replace(tmp, path)
    return path


def _profile_path(name_or_path: str | Path, mappings_dir: Path | None) -> Path:
    text = str(name_or_path)
    if is_profile_path(name_or_path):
        return Path(name_or_path).expanduser()
    if not text.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"clearinghouse profile name {text!r}: letters, digits, - and _ only")
    if mappings_dir is None:
        from pipeline.settings import get_settings

        mappings_dir = get_settings().mappings_dir
    return mappings_dir / "clearinghouses" / f"{text}.yaml"


def _resolve_paths(profile: ClearinghouseProfile, base_dir: Path | None) -> ClearinghouseProfile:
    if base_dir is None:
        from pipeline.settings import get_settings

        base_dir = get_settings().home
    changes: dict[str, Path] = {}
    for field in ("key_path", "known_hosts_path", "local_root"):
        value: Path | None = getattr(profile, field)
        if value is not None:
            value = value.expanduser()
            changes[field] = value if value.is_absolute() else base_dir / value
    update: dict[str, object] = dict(changes)
    if profile.realtime is not None:
        pinned = profile.realtime.certificate.expanduser()
        pinned = pinned if pinned.is_absolute() else base_dir / pinned
        update["realtime"] = profile.realtime.model_copy(update={"certificate": pinned})
    return profile.model_copy(update=update)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
