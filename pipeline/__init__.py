"""claimflow: an EDI X12 5010 pipeline for medical practices."""

__version__ = "0.1.0"
