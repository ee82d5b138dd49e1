"""Demo catalog of the fictional coffee roaster "Röstwerk", for the second demo quiz.

It proves the quiz format is not pet-shop specific: its own categories (espresso, filter) and
product types (bohnen, gemahlen). All roasters and coffees are invented; the list is fixed,
so every load yields the same SKUs.
"""

from __future__ import annotations

from decimal import Decimal

BASE_URL = "https://roestwerk.example/kaffee/"

# (category, name, tags, price of 250 g beans, also sold ground, description)
_COFFEES: tuple[tuple[str, str, str, str, bool, str], ...] = (
    ("espresso", "Espresso Napoli", "kraeftig schokoladig", "8.90", True,
     "Dunkel geröstet, wenig Säure, dichte Crema: der Klassiker für den Siebträger."),
    ("espresso", "Espresso Milano", "nussig schokoladig bestseller", "9.50", True,
     "Mittlere Röstung mit Noten von Haselnuss und Milchschokolade, ideal mit Milch."),
    ("espresso", "Crema Vollautomat", "nussig vollautomat preiswert", "7.90", False,
     "Schonend geröstet, damit das Mahlwerk deines Vollautomaten lange hält."),
    ("espresso", "Bio-Espresso Cooperativa", "bio schokoladig nachhaltig", "11.90", True,
     "Aus einer Kooperative in Honduras, fair bezahlt und bio-zertifiziert."),
    ("espresso", "Espresso Etiopia Sidamo", "fruchtig premium", "13.50", False,
     "Helle Espressoröstung mit Beeren- und Zitrusnoten, für Entdecker."),
    ("espresso", "Caffè Forte 1 kg", "kraeftig vollautomat preiswert", "24.90", False,
     "Der Vorratsbeutel für Vielzubereiter: kräftig, würzig, ausgewogen."),
    ("espresso", "Espresso Decaf Svizzera", "entkoffeiniert nussig", "10.90", True,
     "Schonend mit Wasser entkoffeiniert, voller Geschmack am Abend."),
    ("espresso", "Espresso Riserva", "premium schokoladig kraeftig", "18.90", False,
     "Kleine Ernte aus Brasilien, 20 Minuten im Trommelröster: tief und rund."),
    ("espresso", "Crema Famiglia 1 kg", "vollautomat schokoladig", "21.50", False,
     "Mild und cremig: für die ganze Familie, mit und ohne Milch."),
    ("filter", "Kenia Kiambu AA", "fruchtig premium", "12.90", True,
     "Schwarze Johannisbeere und Grapefruit: ein saftiger Filterkaffee."),
    ("filter", "Kolumbien Huila", "nussig schokoladig bestseller", "9.90", True,
     "Karamell, Nuss und Kakao: rund und gefällig, auch für Einsteiger."),
    ("filter", "Äthiopien Yirgacheffe", "fruchtig blumig", "11.50", True,
     "Jasmin, Bergamotte und Pfirsich, hell geröstet für den Handaufguss."),
    ("filter", "Bio-Hausmischung", "bio nachhaltig nussig preiswert", "7.50", True,
     "Unsere Alltagsmischung aus Bio-Bohnen, für Kanne und Maschine."),
    ("filter", "Guatemala Antigua", "schokoladig kraeftig", "10.50", True,
     "Vollmundig mit Kakao und einem Hauch Rauch, stark in der French Press."),
    ("filter", "Ruanda Nyamasheke", "fruchtig nachhaltig", "12.50", False,
     "Rote Früchte und Rohrzucker, direkt gehandelt."),
    ("filter", "Decaf Kolumbien", "entkoffeiniert schokoladig", "9.90", True,
     "Mit Zuckerrohr-Verfahren entkoffeiniert: mild, süß, ohne Koffein."),
    ("filter", "Geisha Panama", "fruchtig blumig premium", "34.00", False,
     "Eine Rarität: Jasmin, Mango und Honig. 125 g für besondere Momente."),
    ("filter", "Frühstücksmischung 1 kg", "kraeftig preiswert", "19.90", True,
     "Kräftig und verlässlich, für große Kannen am Wochenende."),
)


def coffee_products() -> list[dict]:
    """The roaster's catalog as plain dicts, in the shape the demo loader upserts."""
    products: list[dict] = []
    for number, (category, name, tags, price, ground, text) in enumerate(_COFFEES, start=1):
        for product_type in ("bohnen", "gemahlen") if ground else ("bohnen",):
            sku = f"kaffee-{category}-{number:03d}-{product_type}"
            products.append({
                "sku": sku,
                "title": f"{name}, {'ganze Bohne' if product_type == 'bohnen' else 'gemahlen'}",
                "description": text,
                "category": category,
                "product_type": product_type,
                "brand": "Röstwerk",
                "price": Decimal(price),
                "compare_at_price": None,
                "tags": tags.split(),
                "image": ("img/products/kaffee-entkoffeiniert.svg" if "entkoffeiniert" in tags
                          else f"img/products/kaffee-{category}.svg"),
                "url": BASE_URL + sku,
                "available": True,
            })
    return products
