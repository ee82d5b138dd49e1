"""Chart geometry for the console's inline SVG (no JavaScript, no inline style).

The template draws what these return with SVG presentation attributes (x, y, width, height,
points), which the CSP allows; colours come from classes in app.css.
"""

from __future__ import annotations

from dataclasses import dataclass

from purl.analytics.funnel import Day, Funnel


@dataclass(frozen=True)
class Bar:
    kind: str
    count: int
    share: float | None  # of the links minted, 0..1
    width: float


FUNNEL_WIDTH = 600.0


def funnel_bars(funnel: Funnel, width: float = FUNNEL_WIDTH) -> list[Bar]:
    """One horizontal bar per step, its width relative to the links minted."""
    top = max(funnel["minted"], 1)
    bars = []
    for step in funnel.steps:
        # A step with anyone in it stays visible, however small next to the links minted.
        bars.append(Bar(step.kind, step.count, step.of_minted,
                        round(max(step.count / top * width, 2.0 if step.count else 0.0), 1)))
    return bars


@dataclass(frozen=True)
class Series:
    kind: str
    points: str  # "x,y x,y …" for <polyline points>
    dots: list[tuple[float, float, int]]


@dataclass(frozen=True)
class TimeChart:
    width: float
    height: float
    top: int
    series: list[Series]
    x_labels: list[tuple[float, str]]
    y_labels: list[tuple[float, int]]


def time_chart(days: list[Day], width: float = 640.0, height: float = 220.0) -> TimeChart:
    """Lines for visits, completed quizzes and product clicks per day."""
    left, right, top_pad, bottom = 36.0, 8.0, 10.0, 28.0
    top = max([max(d.visit, d.quiz_complete, d.product_click) for d in days] + [1])
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    step = plot_w / max(len(days) - 1, 1)

    def xy(i: int, value: int) -> tuple[float, float]:
        return round(left + i * step, 1), round(top_pad + plot_h * (1 - value / top), 1)

    series = []
    for kind in ("visit", "quiz_complete", "product_click"):
        dots = [(*xy(i, getattr(d, kind)), getattr(d, kind)) for i, d in enumerate(days)]
        series.append(Series(kind, " ".join(f"{x},{y}" for x, y, _ in dots), dots))
    every = max(1, round(len(days) / 6))
    x_labels = [(xy(i, 0)[0], d.day.strftime("%d.%m."))
                for i, d in enumerate(days) if i % every == 0]
    y_labels = [(xy(0, v)[1], v) for v in sorted({0, top // 2, top})]
    return TimeChart(width, height, top, series, x_labels, y_labels)
