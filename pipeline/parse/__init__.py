"""Return files to tables: 835, 271, 999, TA1, 277CA and 277 parsers (DESIGN.md § Tables).

    result = parse_file("remit.835")           # auto-detects the transaction
    result.transaction                         # "835"
    result.tables["remit_claims"]              # DataFrame, Decimal amounts
    result.tables["problems"]                  # balancing and envelope findings

    for record in iter_835("huge.835"):        # typed dataclasses, no pandas, flat memory
        ...
    parse_835_to_parquet("huge.835", "out/")   # chunked Parquet, bounded memory

One module per transaction set (``t835``, ``t271``, ``t999``, ``ta1``, ``t277ca``, ``t277``;
``t270`` and ``t276`` read our own outbound files back);
``driver`` routes each transaction set of a file to its parser in one pass.
"""

from pipeline.parse.api import (
    ParseResult,
    claim_index,
    iter_835,
    iter_records,
    parse_835_tables,
    parse_835_to_parquet,
    parse_file,
    parse_files,
    stream_tables,
)
from pipeline.parse.detect import KINDS, detect_file, transaction_kind
from pipeline.parse.t271 import EligibilityBenefit, EligibilitySummary
from pipeline.parse.t277 import ClaimStatus
from pipeline.parse.t277ca import ClaimAcknowledgment
from pipeline.parse.t835 import (
    RemitAdjustment,
    RemitClaim,
    RemitPayment,
    RemitProviderAdjustment,
    RemitServiceLine,
)
from pipeline.parse.t999 import AckTransaction
from pipeline.parse.ta1 import AckInterchange
from pipeline.parse.tables import COLUMNS, KIND_TABLES, TableWriter

__all__ = [
    "COLUMNS",
    "KINDS",
    "KIND_TABLES",
    "AckInterchange",
    "AckTransaction",
    "ClaimAcknowledgment",
    "ClaimStatus",
    "EligibilityBenefit",
    "EligibilitySummary",
    "ParseResult",
    "RemitAdjustment",
    "RemitClaim",
    "RemitPayment",
    "RemitProviderAdjustment",
    "RemitServiceLine",
    "TableWriter",
    "claim_index",
    "detect_file",
    "iter_835",
    "iter_records",
    "parse_835_tables",
    "parse_835_to_parquet",
    "parse_file",
    "parse_files",
    "stream_tables",
    "transaction_kind",
]
