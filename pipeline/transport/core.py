"""CAQH CORE connectivity envelopes (Phase II rule 270, v2.2.0): SOAP 1.2 with WS-Security.

A real-time request is one SOAP 1.2 envelope over HTTPS POST: a WS-Security UsernameToken in
the header (the submitter's credentials) and ``COREEnvelopeRealTimeRequest`` in the body, in
the CORE rule's namespace, carrying the metadata the rule requires — ``PayloadType``
(``X12_270_Request_005010X279A1``, ``X12_276_Request_005010X212``), ``ProcessingMode``
(``RealTime``), ``PayloadID`` (a UUID), ``TimeStamp`` (UTC, XML dateTime), ``SenderID``,
``ReceiverID``, ``CORERuleVersion`` (``2.2.0``) — and ``Payload``, the X12 interchange as text.
The answer is a ``COREEnvelopeRealTimeResponse`` with the same metadata (PayloadType
``X12_271_Response_005010X279A1`` / ``X12_277_Response_005010X212``, PayloadID echoed) plus
``ErrorCode`` (``Success`` or the envelope error, with PayloadType ``CoreEnvelopeError``) and
``ErrorMessage``; a message that is not a usable envelope at all is answered by a SOAP Fault.
The client must have its answer within 20 seconds.

Both sides use this module: the client (:mod:`pipeline.transport.realtime`) and the simulator's
endpoint (:mod:`pipeline.clearinghouse.realtime`). Parsing never resolves entities or fetches
anything (a SOAP body is untrusted input); every problem is one :class:`EnvelopeError` line.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any

from pipeline.errors import EnvelopeError

__all__ = [
    "CORE_NS",
    "CORE_RULE_VERSION",
    "ENVELOPE_ERROR",
    "RESPONSE_TYPES",
    "SOAP_NS",
    "CoreMessage",
    "Credentials",
    "fault_envelope",
    "new_request",
    "parse_envelope",
    "request_envelope",
    "response_envelope",
    "timestamp",
]

SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
CORE_NS = "http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordText"
)
CORE_RULE_VERSION = "2.2.0"
REAL_TIME = "RealTime"
ENVELOPE_ERROR = "CoreEnvelopeError"
SUCCESS = "Success"
RESPONSE_TYPES = {
    "X12_270_Request_005010X279A1": "X12_271_Response_005010X279A1",
    "X12_276_Request_005010X212": "X12_277_Response_005010X212",
}
"""Request payload type -> the payload type of its answer."""
_FIELDS = (
    ("PayloadType", "payload_type"),
    ("ProcessingMode", "processing_mode"),
    ("PayloadID", "payload_id"),
    ("TimeStamp", "timestamp"),
    ("SenderID", "sender_id"),
    ("ReceiverID", "receiver_id"),
    ("CORERuleVersion", "core_rule_version"),
    ("Payload", "payload"),
)
_RESPONSE_FIELDS = (*_FIELDS, ("ErrorCode", "error_code"), ("ErrorMessage", "error_message"))
_REQUEST = "COREEnvelopeRealTimeRequest"
_RESPONSE = "COREEnvelopeRealTimeResponse"
MAX_ENVELOPE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CoreMessage:
    """One real-time request or response (the CORE metadata and the X12 payload)."""

    payload_type: str
    payload_id: str
    timestamp: str
    sender_id: str
    receiver_id: str
    payload: str
    processing_mode: str = REAL_TIME
    core_rule_version: str = CORE_RULE_VERSION
    error_code: str = ""
    error_message: str = ""
    kind: str = _REQUEST
    """``COREEnvelopeRealTimeRequest`` or ``COREEnvelopeRealTimeResponse``."""

    def answer(
        self, payload: str, *, error_code: str = SUCCESS, error_message: str = ""
    ) -> CoreMessage:
        """The response to this request (PayloadID echoed, sender and receiver swapped)."""
        failed = error_code != SUCCESS
        return replace(
            self,
            payload_type=ENVELOPE_ERROR if failed else RESPONSE_TYPES.get(self.payload_type, ""),
            timestamp=timestamp(),
            sender_id=self.receiver_id,
            receiver_id=self.sender_id,
            payload=payload,
            error_code=error_code,
            error_message=error_message or ("None" if not failed else ""),
            kind=_RESPONSE,
        )


@dataclass(frozen=True, slots=True)
class Credentials:
    """WS-Security UsernameToken (the password is never logged or put in a message)."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='**********')"


def timestamp(now: dt.datetime | None = None) -> str:
    """XML dateTime in UTC, seconds precision (``2026-11-27T14:03:09Z``)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_request(
    payload_type: str, payload: str, *, sender_id: str, receiver_id: str
) -> CoreMessage:
    """A real-time request with a fresh UUID PayloadID and the current UTC timestamp."""
    if payload_type not in RESPONSE_TYPES:
        raise ValueError(f"not a real-time request payload type: {payload_type}")
    return CoreMessage(
        payload_type=payload_type,
        payload_id=str(uuid.uuid4()),
        timestamp=timestamp(),
        sender_id=sender_id,
        receiver_id=receiver_id,
        payload=payload,
    )


# -- writing --------------------------------------------------------------------------------


def _envelope(header: Any = None) -> tuple[Any, Any]:
    from lxml import etree

    root = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soapenv": SOAP_NS})
    head = etree.SubElement(root, f"{{{SOAP_NS}}}Header")
    if header is not None:
        head.append(header)
    body = etree.SubElement(root, f"{{{SOAP_NS}}}Body")
    return root, body


def _serialize(root: Any) -> bytes:
    from lxml import etree

    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def _core_body(body: Any, message: CoreMessage, fields: tuple[tuple[str, str], ...]) -> None:
    from lxml import etree

    core = etree.SubElement(body, f"{{{CORE_NS}}}{message.kind}", nsmap={"cor": CORE_NS})
    for tag, attr in fields:
        # CORE's schema puts the metadata elements in no namespace (unqualified).
        etree.SubElement(core, tag).text = str(getattr(message, attr))


def request_envelope(message: CoreMessage, credentials: Credentials) -> bytes:
    """The SOAP 1.2 request: WS-Security UsernameToken + COREEnvelopeRealTimeRequest."""
    from lxml import etree

    security = etree.Element(f"{{{WSSE_NS}}}Security", nsmap={"wsse": WSSE_NS})
    token = etree.SubElement(security, f"{{{WSSE_NS}}}UsernameToken")
    etree.SubElement(token, f"{{{WSSE_NS}}}Username").text = credentials.username
    password = etree.SubElement(token, f"{{{WSSE_NS}}}Password", Type=PASSWORD_TEXT)
    password.text = credentials.password
    root, body = _envelope(security)
    _core_body(body, replace(message, kind=_REQUEST), _FIELDS)
    return _serialize(root)


def response_envelope(message: CoreMessage) -> bytes:
    """The SOAP 1.2 response: COREEnvelopeRealTimeResponse (metadata, payload, error code)."""
    root, body = _envelope()
    _core_body(body, replace(message, kind=_RESPONSE), _RESPONSE_FIELDS)
    return _serialize(root)


def fault_envelope(code: str, reason: str) -> bytes:
    """A SOAP 1.2 Fault (``code``: ``Sender`` for a bad request, ``Receiver`` for ours)."""
    from lxml import etree

    root, body = _envelope()
    fault = etree.SubElement(body, f"{{{SOAP_NS}}}Fault")
    value = etree.SubElement(etree.SubElement(fault, f"{{{SOAP_NS}}}Code"), f"{{{SOAP_NS}}}Value")
    value.text = f"soapenv:{code}"
    text = etree.SubElement(etree.SubElement(fault, f"{{{SOAP_NS}}}Reason"), f"{{{SOAP_NS}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    return _serialize(root)


# -- reading --------------------------------------------------------------------------------


def parse_envelope(
    data: bytes, *, source: str = "envelope"
) -> tuple[CoreMessage, Credentials | None]:
    """The CORE message in a SOAP 1.2 envelope, and its UsernameToken when there is one.

    Raises :class:`EnvelopeError` (one line naming ``source``) for anything that is not such an
    envelope: not XML, a SOAP Fault (its reason is in the message), no CORE body, or missing
    metadata.
    """
    from lxml import etree

    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"{source}: envelope of {len(data)} bytes is over the limit")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise EnvelopeError(f"{source}: not an XML envelope ({exc.msg})") from exc
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise EnvelopeError(
            f"{source}: not a SOAP 1.2 envelope (root {etree.QName(root).localname})"
        )
    body = root.find(f"{{{SOAP_NS}}}Body")
    if body is None or len(body) == 0:
        raise EnvelopeError(f"{source}: SOAP envelope without a body")
    element = body[0]
    if element.tag == f"{{{SOAP_NS}}}Fault":
        raise EnvelopeError(f"{source}: SOAP fault: {_fault_text(element)}")
    kind = etree.QName(element).localname
    if etree.QName(element).namespace != CORE_NS or kind not in (_REQUEST, _RESPONSE):
        raise EnvelopeError(f"{source}: body is not a CORE real-time request or response ({kind})")
    fields = _RESPONSE_FIELDS if kind == _RESPONSE else _FIELDS
    values = {attr: (element.findtext(tag) or "").strip() for tag, attr in fields}
    values["payload"] = element.findtext("Payload") or ""  # X12 keeps its own whitespace
    missing = [tag for tag, attr in _FIELDS[:7] if not values[attr]]
    if missing and values.get("error_code", "") in ("", SUCCESS):
        raise EnvelopeError(f"{source}: CORE envelope lacks {', '.join(missing)}")
    return CoreMessage(kind=kind, **values), _credentials(root)


def _fault_text(fault: Any) -> str:
    reason = fault.findtext(f"{{{SOAP_NS}}}Reason/{{{SOAP_NS}}}Text") or "(no reason)"
    code = fault.findtext(f"{{{SOAP_NS}}}Code/{{{SOAP_NS}}}Value") or ""
    text = " ".join(reason.split())
    return f"{code.split(':')[-1]}: {text}" if code else text


def _credentials(root: Any) -> Credentials | None:
    token = root.find(f"{{{SOAP_NS}}}Header/{{{WSSE_NS}}}Security/{{{WSSE_NS}}}UsernameToken")
    if token is None:
        return None
    return Credentials(
        token.findtext(f"{{{WSSE_NS}}}Username") or "",
        token.findtext(f"{{{WSSE_NS}}}Password") or "",
    )
