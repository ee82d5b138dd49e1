"""The A/B verdict: each landing variant against the first, by a two-proportion z-test."""

from __future__ import annotations

import math
from dataclasses import dataclass

from purl.analytics.funnel import Funnel


@dataclass(frozen=True)
class Comparison:
    """Variant ``challenger`` against ``control`` on successes / trials."""

    control: str
    challenger: str
    control_trials: int
    control_successes: int
    challenger_trials: int
    challenger_successes: int
    z: float | None
    p_value: float | None
    alpha: float = 0.05

    @property
    def control_rate(self) -> float | None:
        return self.control_successes / self.control_trials if self.control_trials else None

    @property
    def challenger_rate(self) -> float | None:
        return (self.challenger_successes / self.challenger_trials
                if self.challenger_trials else None)

    @property
    def enough_data(self) -> bool:
        # The normal approximation needs a handful of successes and failures on each side.
        return all(n >= 5 for n in (
            self.control_successes, self.control_trials - self.control_successes,
            self.challenger_successes, self.challenger_trials - self.challenger_successes))

    @property
    def significant(self) -> bool:
        return self.enough_data and self.p_value is not None and self.p_value < self.alpha


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """Two-sided two-proportion z-test with pooled variance: (z, p) or None if undefined.

    z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)), p = (x1 + x2) / (n1 + n2).
    """
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    z = (x2 / n2 - x1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def compare_variants(
    by_variant: dict[str, Funnel], success: str = "quiz_complete", trials: str = "visit"
) -> list[Comparison]:
    """Each variant against the first (the control), on ``success`` per ``trials``."""
    keys = [k for k in by_variant if k]
    if len(keys) < 2:
        return []
    control = by_variant[keys[0]]
    result = []
    for key in keys[1:]:
        other = by_variant[key]
        test = two_proportion_z(control[success], control[trials], other[success], other[trials])
        result.append(Comparison(
            keys[0], key, control[trials], control[success], other[trials], other[success],
            test[0] if test else None, test[1] if test else None,
        ))
    return result
