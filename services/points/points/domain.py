"""Points rules without I/O: what a sale earns."""
from dataclasses import dataclass


@dataclass(frozen=True)
class EarnRule:
    """`points` for every `unit_satang` of spend, rounding down; nothing below `min_spend_satang`."""

    points: int
    unit_satang: int
    min_spend_satang: int = 0
    version: int = 0

    def same_terms(self, other):
        return (self.points, self.unit_satang, self.min_spend_satang) == (
            other.points, other.unit_satang, other.min_spend_satang)


def points_for(amount_satang, rule):
    """Points a spend earns under `rule`: integer arithmetic only, rounding down."""
    if amount_satang < 0:
        raise ValueError("a spend is never negative")
    if amount_satang < rule.min_spend_satang:
        return 0
    return amount_satang * rule.points // rule.unit_satang
