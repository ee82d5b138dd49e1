"""The app as gunicorn serves it for bench/pages.py, plus one bare template page to compare with.

``/_bench/bare`` renders the site layout and a grid of 24 products from constants: the same
amount of HTML as the showroom, but no database, no journey, no recommendation.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flask import has_request_context, render_template, request

from purl import create_app
from purl.analytics import tallies

app = create_app()

# The page markup lives beside this file; compiled once, like a template from the loader.
BARE_TEMPLATE = app.jinja_env.from_string(
    (Path(__file__).parent / "bare.html").read_text(encoding="utf-8"))
PRODUCTS = [
    {"id": i, "image": "/static/img/products/hund-futter.svg", "brand": "Pfotenglück",
     "title": f"Getreidefreies Trockenfutter Lamm & Kartoffel, {i} kg",
     "price": Decimal("14.99") + i, "reasons": ["Hund", "Futter", "Bio & nachhaltig"]}
    for i in range(24)
]
TYPES = [("futter", "Futter", 9), ("snacks", "Snacks & Leckerlis", 7),
         ("spielzeug", "Spielzeug & Beschäftigung", 8)]
TAGS = [(t, i + 1) for i, t in enumerate(
    "bestseller bio erwachsen getreidefrei jung nachhaltig neu preiswert premium senior sensitiv"
    .split())]
MESSAGE = ("Schön, dass du wieder da bist! Beantworte uns vier kurze Fragen, und wir stellen dir "
           "eine Auswahl zusammen, die zu dir und deinem Tier passt.")




@app.get("/_bench/bare")
def bare():  # noqa: ANN201
    return render_template(BARE_TEMPLATE, products=PRODUCTS, message=MESSAGE, types=TYPES,
                           tags=TAGS)


# For the side-by-side measure of what recording costs (bench/pages.py): a request that
# says so records its events as plain rows, without the funnel and quiz tallies, as events
# were recorded before the tallies came (issue 16 asks the tallies to stay within 10 %).
UNTALLIED = "X-Bench-Untallied"


def _unless_untallied(count):  # noqa: ANN001, ANN202
    def counted(conn, row):  # noqa: ANN001, ANN202
        if not (has_request_context() and request.headers.get(UNTALLIED)):
            count(conn, row)
    return counted


tallies.count_funnel = _unless_untallied(tallies.count_funnel)
tallies.count_quiz = _unless_untallied(tallies.count_quiz)
