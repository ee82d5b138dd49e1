"""Placeholder SVG product images for the demo catalog.

One image per category x product type: a soft category colour, a simple vector motif for the
product type, a small category badge and the German label. Regenerate with
``python -m purl.demo.images`` from the repository root.
"""

from __future__ import annotations

from pathlib import Path

from purl.demo.catalog import CATEGORY_LABELS, TYPE_LABELS

# category -> (background, accent)
_COLOURS: dict[str, tuple[str, str]] = {
    "hund": ("#f7ebdd", "#a8622a"),
    "katze": ("#efe7f7", "#7a4fa0"),
    "kleintier": ("#e6f3e1", "#4e8a3e"),
    "aquaristik": ("#dff0f8", "#1f6f9c"),
}

# Small shapes drawn around (0, 0), roughly 80 units wide; fill is inherited from the group.
_PAW = (
    '<ellipse cx="0" cy="14" rx="20" ry="16"/><circle cx="-22" cy="-8" r="8"/>'
    '<circle cx="-8" cy="-22" r="8"/><circle cx="8" cy="-22" r="8"/>'
    '<circle cx="22" cy="-8" r="8"/>'
)
_CAT = '<path d="M-26 -8 L-24 -34 L-8 -20 H8 L24 -34 L26 -8 A27 24 0 1 1 -26 -8 Z"/>'
_RABBIT = (
    '<ellipse cx="-10" cy="-26" rx="7" ry="20"/><ellipse cx="10" cy="-26" rx="7" ry="20"/>'
    '<circle cx="0" cy="8" r="22"/>'
)
_FISH = (
    '<ellipse cx="-6" cy="0" rx="28" ry="18"/><path d="M16 0 L38 -17 V17 Z"/>'
    '<circle cx="-20" cy="-4" r="3.5" fill="#fff"/>'
)
_BADGES: dict[str, str] = {"hund": _PAW, "katze": _CAT, "kleintier": _RABBIT, "aquaristik": _FISH}

# Main motifs, drawn around the centre (200, 170).
_BOWL = (
    '<circle cx="160" cy="150" r="14"/><circle cx="188" cy="140" r="14"/>'
    '<circle cx="214" cy="148" r="14"/><circle cx="240" cy="142" r="14"/>'
    '<path d="M105 162 H295 L272 232 Q268 244 255 244 H145 Q132 244 128 232 Z"/>'
    '<rect x="125" y="190" width="150" height="10" fill="#fff" opacity=".5"/>'
)
_BONE = (
    '<g transform="rotate(-20 200 170)"><rect x="130" y="154" width="140" height="32" rx="10"/>'
    '<circle cx="130" cy="152" r="22"/><circle cx="130" cy="188" r="22"/>'
    '<circle cx="270" cy="152" r="22"/><circle cx="270" cy="188" r="22"/></g>'
)
_BALL = (
    '<circle cx="200" cy="170" r="70"/>'
    '<path d="M152 120 Q195 170 152 220 M248 120 Q205 170 248 220" fill="none" '
    'stroke="#fff" stroke-width="9" stroke-linecap="round"/>'
)
_BRUSH = (
    '<rect x="186" y="82" width="28" height="70" rx="12"/>'
    '<rect x="120" y="140" width="160" height="44" rx="14"/>'
    '<path d="M136 184 V226 M154 184 V232 M172 184 V226 M190 184 V232 M208 184 V226 '
    'M226 184 V232 M244 184 V226 M262 184 V232" fill="none" stroke="currentColor" '
    'stroke-width="7" stroke-linecap="round"/>'
)
_HOUSE = (
    '<path d="M112 178 L200 100 L288 178 H268 V246 H132 V178 Z"/>'
    '<path d="M174 246 V212 A26 26 0 0 1 226 212 V246 Z" fill="#fff" opacity=".8"/>'
)
_CARROT = (
    '<path d="M190 120 Q160 88 170 76 Q190 90 200 112 Q206 84 226 78 Q230 100 210 122 Z" '
    'fill="#6da34d"/>'
    '<path d="M172 126 Q200 104 228 126 L206 252 Q200 262 194 252 Z" fill="#e98a2e"/>'
)
_JAR = (
    '<rect x="140" y="92" width="120" height="28" rx="8"/>'
    '<rect x="132" y="118" width="136" height="130" rx="18"/>'
    '<rect x="150" y="150" width="100" height="60" rx="10" fill="#fff" opacity=".85"/>'
    f'<g transform="translate(200 180) scale(.8)">{_FISH}</g>'
)
_FLAKES = (
    f'<g transform="translate(210 200) scale(2.3)">{_FISH}</g>'
    '<rect x="150" y="92" width="14" height="10" rx="3" transform="rotate(20 157 97)"/>'
    '<rect x="190" y="80" width="14" height="10" rx="3" transform="rotate(-15 197 85)"/>'
    '<rect x="232" y="96" width="14" height="10" rx="3" transform="rotate(35 239 101)"/>'
    '<rect x="120" y="124" width="12" height="9" rx="3"/>'
)
_PLANT = (
    '<path d="M180 236 C150 190 190 160 160 100 M205 236 C215 180 190 150 210 88 '
    'M230 236 C250 200 226 170 252 120" fill="none" stroke="currentColor" stroke-width="12" '
    'stroke-linecap="round"/>'
    '<ellipse cx="200" cy="240" rx="96" ry="22" fill="#8c8f94"/>'
)
_DROP = (
    '<path d="M200 88 C176 130 140 166 140 202 A60 60 0 0 0 260 202 '
    'C260 166 224 130 200 88 Z"/>'
    '<path d="M172 204 A30 30 0 0 0 196 232" fill="none" stroke="#fff" stroke-width="8" '
    'stroke-linecap="round" opacity=".8"/>'
)
_TANK = (
    '<rect x="112" y="104" width="176" height="130" rx="12" fill="#fff" '
    'stroke="currentColor" stroke-width="8"/>'
    '<path d="M116 140 Q138 128 160 140 T204 140 T248 140 T284 140 V230 H116 Z" '
    'opacity=".35"/>'
    f'<g transform="translate(190 190) scale(1.1)">{_FISH}</g>'
    '<rect x="124" y="236" width="152" height="14" rx="4"/>'
)

_MOTIFS: dict[str, str] = {
    "futter": _BOWL,
    "snacks": _BONE,
    "spielzeug": _BALL,
    "pflege": _BRUSH,
    "zubehoer": _HOUSE,
}
_OVERRIDES: dict[tuple[str, str], str] = {
    ("katze", "snacks"): f'<g transform="translate(200 170) scale(2.6)">{_FISH}</g>',
    ("kleintier", "snacks"): _CARROT,
    ("aquaristik", "futter"): _JAR,
    ("aquaristik", "snacks"): _FLAKES,
    ("aquaristik", "spielzeug"): _PLANT,
    ("aquaristik", "pflege"): _DROP,
    ("aquaristik", "zubehoer"): _TANK,
}


def product_svg(category: str, product_type: str) -> str:
    """Return the SVG markup for one category x product type placeholder."""
    background, accent = _COLOURS[category]
    motif = _OVERRIDES.get((category, product_type), _MOTIFS[product_type])
    label = f"{CATEGORY_LABELS[category]} · {TYPE_LABELS[product_type]}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="400" '
        f'height="400" role="img" aria-label="{label}">\n'
        f"<title>{label}</title>\n"
        f'<rect width="400" height="400" fill="{background}"/>\n'
        '<circle cx="200" cy="170" r="130" fill="#fff" opacity=".55"/>\n'
        f'<g fill="{accent}" color="{accent}">{motif}</g>\n'
        f'<g fill="{accent}" opacity=".45" transform="translate(346 56) scale(.6)">'
        f"{_BADGES[category]}</g>\n"
        '<rect x="30" y="306" width="340" height="58" rx="29" fill="#fff" opacity=".85"/>\n'
        f'<text x="200" y="344" text-anchor="middle" fill="{accent}" font-size="26" '
        'font-weight="600" font-family="Helvetica, Arial, sans-serif">'
        f"{label}</text>\n"
        "</svg>\n"
    )


def write_product_images(folder: Path) -> int:
    """Write one SVG per category x product type into *folder*; return the file count."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for category in CATEGORY_LABELS:
        for product_type in TYPE_LABELS:
            path = folder / f"{category}-{product_type}.svg"
            path.write_text(product_svg(category, product_type), encoding="utf-8")
            count += 1
    return count


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[2] / "static" / "img" / "products"
    print(f"{write_product_images(target)} images written to {target}")
