"""Online detectors run by the stream workers, as vectorised banks of many series."""

from models.online.base import BankResult, DetectorBank
from models.online.registry import DETECTORS, make_detector

__all__ = ["DETECTORS", "BankResult", "DetectorBank", "make_detector"]
