"""CORE envelopes on their own: what a request carries, round trips, hostile or broken input."""

from __future__ import annotations

import pytest
from lxml import etree

from pipeline.errors import EnvelopeError
from pipeline.transport.core import (
    CORE_NS,
    SOAP_NS,
    Credentials,
    fault_envelope,
    new_request,
    parse_envelope,
    request_envelope,
    response_envelope,
)

X12 = "ISA*00*          *00*          *ZZ*S*ZZ*R*261127*0900*^*00501*000000001*0*P*:~\nGS*HS~"
CREDS = Credentials("clinic", "p<&>w'd")


def test_request_carries_the_core_metadata_and_a_ws_security_token() -> None:
    message = new_request("X12_270_Request_005010X279A1", X12, sender_id="SUB1", receiver_id="CH")
    root = etree.fromstring(request_envelope(message, CREDS))
    assert root.tag == f"{{{SOAP_NS}}}Envelope"
    body = root.find(f"{{{SOAP_NS}}}Body/{{{CORE_NS}}}COREEnvelopeRealTimeRequest")
    assert body is not None
    assert [child.tag for child in body] == [
        "PayloadType", "ProcessingMode", "PayloadID", "TimeStamp", "SenderID", "ReceiverID",
        "CORERuleVersion", "Payload",
    ]  # fmt: skip
    assert body.findtext("ProcessingMode") == "RealTime"
    assert body.findtext("CORERuleVersion") == "2.2.0"
    assert body.findtext("TimeStamp", "").endswith("Z")
    parsed, given = parse_envelope(request_envelope(message, CREDS))
    assert parsed == message and given == CREDS  # XML-special characters survive
    assert "p<&>w'd" not in repr(given)


def test_response_round_trip_echoes_the_payload_id() -> None:
    request = new_request("X12_276_Request_005010X212", X12, sender_id="SUB1", receiver_id="CH")
    answer = request.answer("ISA*...~")
    parsed, given = parse_envelope(response_envelope(answer))
    assert given is None and parsed == answer
    assert parsed.payload_type == "X12_277_Response_005010X212"
    assert (parsed.sender_id, parsed.receiver_id) == ("CH", "SUB1")
    assert parsed.payload_id == request.payload_id and parsed.error_code == "Success"


def test_a_fault_is_read_as_one_line() -> None:
    with pytest.raises(EnvelopeError, match=r"^ep: SOAP fault: Sender: bad\s*thing$"):
        parse_envelope(fault_envelope("Sender", "bad\n  thing"), source="ep")


def test_entities_are_never_expanded(tmp_path: object) -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<soapenv:Envelope xmlns:soapenv="' + SOAP_NS.encode() + b'"><soapenv:Body>'
        b'<c:COREEnvelopeRealTimeRequest xmlns:c="' + CORE_NS.encode() + b'">'
        b"<PayloadType>X12_270_Request_005010X279A1</PayloadType><ProcessingMode>RealTime"
        b"</ProcessingMode><PayloadID>1</PayloadID><TimeStamp>t</TimeStamp><SenderID>s"
        b"</SenderID><ReceiverID>r</ReceiverID><CORERuleVersion>2.2.0</CORERuleVersion>"
        b"<Payload>&x;</Payload></c:COREEnvelopeRealTimeRequest></soapenv:Body>"
        b"</soapenv:Envelope>"
    )
    message, _ = parse_envelope(hostile)
    assert "root:" not in message.payload


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not xml", "not an XML envelope"),
        (b"<a/>", "not a SOAP 1.2 envelope"),
        (f'<e:Envelope xmlns:e="{SOAP_NS}"><e:Body/></e:Envelope>'.encode(), "without a body"),
        (
            f'<e:Envelope xmlns:e="{SOAP_NS}"><e:Body><x/></e:Body></e:Envelope>'.encode(),
            "not a CORE real-time request",
        ),
        (
            f'<e:Envelope xmlns:e="{SOAP_NS}"><e:Body><c:COREEnvelopeRealTimeRequest xmlns:c='
            f'"{CORE_NS}"><Payload>x</Payload></c:COREEnvelopeRealTimeRequest></e:Body>'
            "</e:Envelope>".encode(),
            "lacks PayloadType, ProcessingMode, PayloadID",
        ),
        (b" " * (5 * 1024 * 1024 + 1), "over the limit"),
    ],
)
def test_broken_envelopes_are_one_clear_line(data: bytes, problem: str) -> None:
    with pytest.raises(EnvelopeError) as err:
        parse_envelope(data, source="answer")
    assert problem in str(err.value) and str(err.value).startswith("answer: ")
    assert "\n" not in str(err.value)
