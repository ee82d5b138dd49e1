"""Demo catalog for the fictional pet shop "Zoohandlung".

All brands and products are invented. :func:`demo_products` builds the catalog from the
tables below by pure combinatorics (item x size variant), so every call returns the same list
in the same order with the same SKUs. (Long because it is data: the tables are the catalog.)
"""

from __future__ import annotations

import re
from decimal import ROUND_UP, Decimal
from typing import NamedTuple

BASE_URL = "https://zoohandlung.example/produkte/"

CATEGORY_LABELS: dict[str, str] = {
    "hund": "Hund",
    "katze": "Katze",
    "kleintier": "Kleintier",
    "aquaristik": "Aquaristik",
}
TYPE_LABELS: dict[str, str] = {
    "futter": "Futter",
    "snacks": "Snacks",
    "spielzeug": "Spielzeug",
    "pflege": "Pflege",
    "zubehoer": "Zubehör",
}
TAGS: tuple[str, ...] = (
    "bio", "nachhaltig", "premium", "preiswert", "jung", "erwachsen", "senior",
    "getreidefrei", "sensitiv", "neu", "bestseller",
)


class _Item(NamedTuple):
    brand: str
    name: str
    tags: str  # space-separated, drawn from TAGS
    variants: tuple[tuple[str, str], ...]  # (size label or "", price in EUR)
    description: str


_I = _Item

# (category, product_type) -> items; each size variant becomes one product.
_CATALOG: dict[tuple[str, str], tuple[_Item, ...]] = {
    # ------------------------------------------------------------------ Hund
    ("hund", "futter"): (
        _I("Pfotenglück", "Getreidefreies Trockenfutter Lamm & Kartoffel",
           "getreidefrei erwachsen bestseller", (("2 kg", "14.99"), ("12 kg", "59.99")),
           "Schonend gegartes Trockenfutter mit viel Lamm für ausgewachsene Hunde. "
           "Ohne Weizen, Soja und künstliche Zusätze."),
        _I("Naturnah", "Bio-Nassfutter Rind mit Karotte", "bio nachhaltig erwachsen",
           (("6 x 400 g", "17.49"), ("24 x 400 g", "62.90")),
           "Saftiges Menü aus Bio-Rindfleisch und Gemüse aus kontrolliert ökologischem Anbau."),
        _I("Wedelwerk", "Welpenfutter Huhn & Reis", "jung preiswert",
           (("1,5 kg", "11.99"), ("7 kg", "39.99")),
           "Kleine Kroketten mit extra Kalzium für gesundes Wachstum in den ersten Monaten."),
        _I("Pfotenglück", "Senior-Trockenfutter Lachs, leicht verdaulich",
           "senior sensitiv getreidefrei", (("4 kg", "29.99"), ("12 kg", "74.99")),
           "Reduzierter Fettgehalt und Grünlippmuschel unterstützen ältere Hunde. "
           "Besonders bekömmlich für empfindliche Mägen."),
        _I("Rudelwohl", "Premium-Trockenfutter Wild & Süßkartoffel", "premium getreidefrei neu",
           (("15 kg", "109.00"),),
           "Rezeptur mit 70 % Wildfleisch für aktive Hunde mit hohem Energiebedarf."),
    ),
    ("hund", "snacks"): (
        _I("Wedelwerk", "Kauknochen aus Büffelhaut", "erwachsen nachhaltig bestseller",
           (("5 Stück", "6.99"), ("20 Stück", "22.99")),
           "Langanhaltender Kauspaß, der die Zähne auf natürliche Weise reinigt."),
        _I("Pfotenglück", "Trainingsleckerli Huhn, weich", "jung preiswert getreidefrei",
           (("200 g", "3.49"), ("1 kg", "13.99")),
           "Kleine, weiche Happen zur Belohnung beim Training. Ideal für Welpen."),
        _I("Pfotenglück", "Zahnpflege-Sticks für Senioren", "senior sensitiv",
           (("28 Stück", "9.99"),),
           "Weiche Sticks mit Petersilie für frischen Atem, schonend für ältere Gebisse."),
        _I("Naturnah", "Bio-Hundekekse mit Apfel & Hafer", "bio nachhaltig",
           (("500 g", "5.99"), ("2 kg", "19.99")),
           "Knusprig gebackene Kekse aus Bio-Zutaten, in der Region hergestellt."),
        _I("Rudelwohl", "Snackbox Getrocknetes Fleisch, 12 Sorten", "premium getreidefrei neu",
           (("1,2 kg", "34.90"),),
           "Zwölf luftgetrocknete Fleischsorten in einer Geschenkbox für Genießer."),
    ),
    ("hund", "spielzeug"): (
        _I("Wedelwerk", "Wurfball aus Naturkautschuk", "nachhaltig preiswert bestseller",
           (("Ø 6 cm", "4.99"), ("Ø 9 cm", "7.99")),
           "Springfreudiger Ball aus Naturkautschuk, der auch im Wasser schwimmt."),
        _I("Wedelwerk", "Seilknoten aus Baumwolle", "jung nachhaltig",
           (("45 cm", "8.49"), ("80 cm", "14.99")),
           "Robustes Zerrspielzeug aus unbehandelter Baumwolle für wilde Spielrunden."),
        _I("Pfotenglück", "Schnüffelteppich Intelligenzspiel", "erwachsen senior",
           (("50 x 70 cm", "24.99"),),
           "Versteckte Leckerli fördern die Nasenarbeit und beschäftigen auch ältere Hunde."),
        _I("Pfotenglück", "Befüllbarer Kauknochen aus Gummi", "erwachsen",
           (("M", "12.99"), ("L", "16.99")),
           "Mit Snacks oder Paste befüllbar und spülmaschinenfest."),
        _I("Rudelwohl", "Automatische Ballwurfmaschine", "premium neu",
           (("", "129.00"),),
           "Wirft Bälle einstellbar bis zu neun Meter weit. Mit Akku für den Garten."),
    ),
    ("hund", "pflege"): (
        _I("Fellfein", "Sanftes Hundeshampoo mit Kamille", "sensitiv bio",
           (("250 ml", "7.99"), ("1 l", "21.99")),
           "pH-neutrales Shampoo für empfindliche Haut, frei von Parabenen."),
        _I("Fellfein", "Zupfbürste mit Buchenholzgriff", "nachhaltig preiswert",
           (("", "12.49"),),
           "Entfernt lose Unterwolle schonend. Der Griff stammt aus FSC-zertifiziertem Holz."),
        _I("Naturnah", "Pfotenbalsam mit Bienenwachs", "bio nachhaltig senior",
           (("50 ml", "8.99"),),
           "Pflegt rissige Ballen im Winter und schützt vor Streusalz."),
        _I("Fellfein", "Akku-Schermaschine, extra leise", "premium",
           (("", "69.90"),),
           "Leise Schermaschine mit vier Aufsteckkämmen für das Trimmen zu Hause."),
        _I("Pfotenglück", "Zahnpflege-Set für Welpen", "jung neu",
           (("", "11.99"),),
           "Fingerzahnbürste und Enzymzahncreme mit Geflügelgeschmack."),
        _I("Fellfein", "Entfilzungskamm aus Edelstahl", "preiswert erwachsen",
           (("", "15.99"),),
           "Rotierende Zinken lösen Verfilzungen, ohne am Fell zu ziepen."),
        _I("Fellfein", "Milder Ohrreiniger", "sensitiv",
           (("100 ml", "6.49"),),
           "Reinigt den Gehörgang sanft und beugt Gerüchen vor."),
    ),
    ("hund", "zubehoer"): (
        _I("Rudelwohl", "Orthopädisches Hundebett mit Memory-Schaum", "senior premium",
           (("M", "79.99"), ("XL", "149.00")),
           "Entlastet Gelenke und Wirbelsäule. Der Bezug ist abnehmbar und waschbar."),
        _I("Wedelwerk", "Edelstahlnapf, rutschfest", "preiswert bestseller",
           (("0,75 l", "6.99"), ("2 l", "11.99")),
           "Hygienischer Napf mit Gummiring, der auch bei stürmischen Fressern stehen bleibt."),
        _I("Naturnah", "Reflektierende Leine aus recyceltem Material", "nachhaltig",
           (("2 m", "19.99"),),
           "Leichte Leine aus recycelten PET-Flaschen mit reflektierenden Nähten."),
        _I("Wedelwerk", "Gepolstertes Brustgeschirr", "jung erwachsen",
           (("S", "24.99"), ("M", "27.99"), ("L", "29.99")),
           "Verstellbares Geschirr, das Druck auf den Hals vermeidet."),
        _I("Pfotenglück", "Faltbare Transportbox", "neu",
           (("M", "54.90"),),
           "Stabile Box für Auto und Reise, in Sekunden zusammengefaltet."),
    ),
    # ----------------------------------------------------------------- Katze
    ("katze", "futter"): (
        _I("Schnurrwerk", "Nassfutter Pastete Huhn & Truthahn", "erwachsen getreidefrei bestseller",
           (("12 x 85 g", "8.99"), ("48 x 85 g", "32.99")),
           "Feine Pastete mit hohem Fleischanteil, ohne Zucker und Getreide."),
        _I("Schnurrwerk", "Kitten-Trockenfutter Geflügel", "jung preiswert",
           (("400 g", "5.49"), ("2 kg", "21.99")),
           "Kleine Kroketten mit Taurin und DHA für die Entwicklung junger Katzen."),
        _I("Samtglanz", "Senior-Trockenfutter mit Lachs", "senior sensitiv",
           (("1,5 kg", "17.99"), ("7 kg", "58.90")),
           "Angepasster Phosphorgehalt schont die Nieren von Katzen ab elf Jahren."),
        _I("Naturnah", "Bio-Nassfutter Rind", "bio nachhaltig getreidefrei",
           (("6 x 200 g", "11.49"),),
           "Zartes Bio-Rindfleisch in Sauce aus artgerechter Tierhaltung."),
        _I("Samtglanz", "Sensitiv-Trockenfutter Ente & Erbse", "sensitiv premium getreidefrei",
           (("10 kg", "84.99"),),
           "Single-Protein-Rezeptur für Katzen mit Futtermittelunverträglichkeiten."),
    ),
    ("katze", "snacks"): (
        _I("Schnurrwerk", "Cremige Leckerli-Sticks Thunfisch", "preiswert bestseller",
           (("5 x 15 g", "2.49"), ("30 x 15 g", "11.99")),
           "Zum Schlecken direkt aus der Tube. Perfekt zum Verabreichen von Tabletten."),
        _I("Schnurrwerk", "Knusperkissen mit Malz", "erwachsen preiswert",
           (("60 g", "2.99"),),
           "Außen knusprig, innen cremig. Malz hilft gegen Haarballen."),
        _I("Samtglanz", "Gefriergetrocknete Hühnerbrust", "premium getreidefrei",
           (("40 g", "6.99"), ("150 g", "19.99")),
           "Reines Hühnerfleisch, schonend gefriergetrocknet und ohne Zusätze."),
        _I("Naturnah", "Bio-Katzengras zum Selbstziehen", "bio nachhaltig",
           (("", "4.99"),),
           "Anzuchtset mit Bio-Saatgut, nach wenigen Tagen knabberbereit."),
        _I("Samtglanz", "Zahnpflege-Snacks für Senioren", "senior sensitiv",
           (("100 g", "3.99"),),
           "Weiche Happen mit Enzymen, die Zahnbelag sanft reduzieren."),
        _I("Schnurrwerk", "Snack-Vorratspaket, 6 Sorten", "neu jung",
           (("", "24.90"),),
           "Sechs beliebte Leckerli zum Probieren in einem Paket."),
    ),
    ("katze", "spielzeug"): (
        _I("Schnurrwerk", "Katzenangel mit Federn", "jung preiswert bestseller",
           (("", "5.99"),),
           "Flexible Angel mit bunten Federn, die den Jagdtrieb weckt."),
        _I("Naturnah", "Baldrian-Kuschelkissen", "nachhaltig bio",
           (("", "7.49"),),
           "Bio-Baumwolle gefüllt mit getrocknetem Baldrian zum Kuscheln und Treten."),
        _I("Schnurrwerk", "Spielschiene mit Bällen", "jung",
           (("", "14.99"),),
           "Drei Ebenen mit rollenden Bällen beschäftigen Katzen auch allein."),
        _I("Samtglanz", "Fummelbrett für Leckerli", "senior erwachsen",
           (("", "29.99"),),
           "Fördert Geschicklichkeit und verlangsamt das Fressen."),
        _I("Samtglanz", "Interaktiver Laserturm", "neu premium",
           (("", "34.90"),),
           "Automatischer Laserpunkt mit Zufallsmodus und Abschalttimer."),
        _I("Schnurrwerk", "Faltbarer Katzentunnel", "erwachsen",
           (("2-fach", "12.99"), ("3-fach", "18.99")),
           "Raschelnder Tunnel mit Guckloch, platzsparend zusammenlegbar."),
        _I("Naturnah", "Spielmäuse aus Schafwollfilz, 3 Stück", "nachhaltig preiswert",
           (("", "6.49"),),
           "Handgefilzte Mäuse aus Schafwolle, gefärbt mit Pflanzenfarben."),
    ),
    ("katze", "pflege"): (
        _I("Fellfein", "Fellpflegehandschuh", "sensitiv preiswert",
           (("", "8.99"),),
           "Weiche Noppen entfernen lose Haare und massieren gleichzeitig."),
        _I("Naturnah", "Katzenstreu aus Holzfasern", "nachhaltig bestseller",
           (("10 l", "9.99"), ("40 l", "29.99")),
           "Kompostierbare Streu, die Gerüche bindet und kaum staubt."),
        _I("Schnurrwerk", "Klumpstreu, parfümfrei", "sensitiv preiswert",
           (("12 kg", "15.99"),),
           "Feine Körnung für empfindliche Pfoten, ohne Duftstoffe."),
        _I("Fellfein", "Krallenschere mit Sicherheitsstopp", "erwachsen",
           (("", "9.49"),),
           "Der Stopp verhindert, dass zu viel von der Kralle abgeschnitten wird."),
        _I("Fellfein", "Trockenshampoo-Schaum", "sensitiv bio",
           (("150 ml", "10.99"),),
           "Reinigt das Fell ohne Wasser, ideal für wasserscheue Katzen."),
        _I("Samtglanz", "Selbstreinigende Katzentoilette", "premium neu",
           (("", "179.00"),),
           "Siebt die Streu nach jedem Besuch automatisch und meldet sich per App."),
        _I("Samtglanz", "Malzpaste gegen Haarballen", "senior",
           (("100 g", "6.49"),),
           "Unterstützt den natürlichen Abgang verschluckter Haare."),
    ),
    ("katze", "zubehoer"): (
        _I("Samtglanz", "Kratzbaum Landhaus", "premium bestseller",
           (("120 cm", "89.99"), ("165 cm", "159.00")),
           "Stabiler Kratzbaum mit Sisalstämmen, Höhle und zwei Liegemulden."),
        _I("Schnurrwerk", "Keramik-Trinkbrunnen", "neu sensitiv",
           (("2 l", "44.90"),),
           "Fließendes Wasser animiert zum Trinken. Leiser Pumpenbetrieb."),
        _I("Naturnah", "Transportkorb aus Weide", "nachhaltig",
           (("", "39.99"),),
           "Handgeflochtener Korb mit Gitter und herausnehmbarem Kissen."),
        _I("Schnurrwerk", "Fensterliege mit Saugnäpfen", "erwachsen senior",
           (("", "24.99"),),
           "Hält bis 15 kg und bietet den besten Platz an der Sonne."),
        _I("Schnurrwerk", "Doppelnapf aus Keramik", "preiswert",
           (("", "12.99"),),
           "Erhöhter Doppelnapf für eine nackenschonende Fresshaltung."),
        _I("Naturnah", "Kuschelhöhle aus Wollfilz", "nachhaltig senior",
           (("", "49.90"),),
           "Warme Schlafhöhle aus reiner Schafwolle, formstabil und atmungsaktiv."),
        _I("Samtglanz", "Katzenklappe mit Mikrochip-Erkennung", "premium jung",
           (("", "94.90"),),
           "Öffnet nur für registrierte Katzen und hält fremde Tiere draußen."),
    ),
    # ------------------------------------------------------------- Kleintier
    ("kleintier", "futter"): (
        _I("Nagerliebe", "Kaninchen-Hauptfutter mit Kräutern", "erwachsen getreidefrei bestseller",
           (("1 kg", "6.99"), ("5 kg", "24.99")),
           "Rohfaserreiche Mischung aus Wiesenkräutern, ganz ohne Getreide."),
        _I("Nagerliebe", "Meerschweinchenfutter mit Vitamin C", "erwachsen preiswert",
           (("1 kg", "7.49"), ("4 kg", "22.99")),
           "Stabilisiertes Vitamin C deckt den täglichen Bedarf von Meerschweinchen."),
        _I("Heuhaus", "Bio-Bergwiesenheu", "bio nachhaltig",
           (("1 kg", "5.99"), ("10 kg", "34.90")),
           "Duftendes Heu aus dem ersten Schnitt, von Bio-Bergwiesen im Allgäu."),
        _I("Nagerliebe", "Junior-Futter für Zwergkaninchen", "jung",
           (("800 g", "5.49"),),
           "Extra Eiweiß und Kalzium für Jungtiere bis zum sechsten Monat."),
        _I("Heuhaus", "Seniorenmischung für Nager", "senior sensitiv getreidefrei",
           (("1,5 kg", "9.99"),),
           "Weiche Pellets und Kräuter, leicht zu kauen für ältere Tiere."),
        _I("Heuhaus", "Premium-Futtermischung Wiese & Blüte", "premium neu",
           (("3 kg", "27.49"),),
           "Abwechslungsreiche Mischung mit Blüten, Blättern und Gemüsestücken."),
    ),
    ("kleintier", "snacks"): (
        _I("Heuhaus", "Getrocknete Löwenzahnwurzeln", "bio getreidefrei",
           (("150 g", "3.99"),),
           "Natürlicher Knabberspaß mit vielen Bitterstoffen für die Verdauung."),
        _I("Nagerliebe", "Knabberstangen Karotte & Petersilie", "preiswert bestseller jung",
           (("2 Stück", "2.49"), ("10 Stück", "10.99")),
           "Am Holzstab gebacken, halten die Zähne in Form und beschäftigen lange."),
        _I("Heuhaus", "Kräuterkugeln zum Knabbern", "nachhaltig erwachsen",
           (("3 Stück", "4.49"),),
           "Gepresste Wiesenkräuter zum Rollen, Knabbern und Verstecken."),
        _I("Nagerliebe", "Gemüsechips-Mix", "getreidefrei sensitiv",
           (("200 g", "5.99"), ("600 g", "14.99")),
           "Schonend getrocknete Pastinake, Rote Bete und Karotte ohne Zusätze."),
        _I("Nagerliebe", "Nagerholz-Snackset", "jung",
           (("", "8.99"),),
           "Unbehandelte Äste von Apfel, Haselnuss und Weide zum Nagen."),
        _I("Heuhaus", "Heu-Snack-Kranz", "neu senior",
           (("", "6.99"),),
           "Geflochtener Kranz aus Heu und Blüten zum Aufhängen im Gehege."),
    ),
    ("kleintier", "spielzeug"): (
        _I("Heuhaus", "Weidenbrücke", "nachhaltig preiswert",
           (("M", "7.99"), ("L", "11.99")),
           "Biegsame Brücke aus Weidenholz zum Klettern, Verstecken und Anknabbern."),
        _I("Nagerliebe", "Holzhaus mit Flachdach", "nachhaltig erwachsen bestseller",
           (("Meerschweinchen", "22.99"), ("Kaninchen", "34.99")),
           "Massives Holzhaus mit zwei Eingängen und begehbarem Dach."),
        _I("Nagerliebe", "Geräuschloses Laufrad", "jung",
           (("Ø 20 cm", "16.99"), ("Ø 28 cm", "24.99")),
           "Kugelgelagertes Laufrad mit geschlossener Lauffläche für Hamster und Mäuse."),
        _I("Heuhaus", "Spieltunnel aus Heu", "bio",
           (("", "9.99"),),
           "Zum Durchlaufen und Auffressen: ein Tunnel komplett aus gepresstem Bio-Heu."),
        _I("Nagerliebe", "Intelligenzspiel Leckerlisuche", "senior neu",
           (("", "17.49"),),
           "Schieberegler und Klappen fordern kleine Tüftler geistig heraus."),
    ),
    ("kleintier", "pflege"): (
        _I("Nagerliebe", "Chinchilla-Badesand", "preiswert",
           (("1 kg", "4.99"), ("5 kg", "17.99")),
           "Feiner, staubarmer Sand für die tägliche Fellpflege von Chinchillas."),
        _I("Heuhaus", "Einstreu aus Hanf", "nachhaltig bio bestseller",
           (("20 l", "12.99"), ("60 l", "29.99")),
           "Saugstarke Einstreu aus deutschem Bio-Hanf, kompostierbar."),
        _I("Fellfein", "Weiche Nagerbürste", "sensitiv jung",
           (("", "6.99"),),
           "Naturborsten für Langhaar-Meerschweinchen und empfindliche Haut."),
        _I("Fellfein", "Krallenschere für Kleintiere", "senior erwachsen",
           (("", "7.99"),),
           "Kleine Schere mit runder Schneide für sicheres Krallenkürzen."),
        _I("Heuhaus", "Geruchsbinder für den Käfig", "neu sensitiv",
           (("500 g", "8.49"), ("2 kg", "24.99")),
           "Mineralisches Pulver, das Ammoniak bindet, ohne Duftstoffe."),
    ),
    ("kleintier", "zubehoer"): (
        _I("Heuhaus", "Kaninchenstall aus Kiefernholz", "premium nachhaltig",
           (("120 cm", "119.00"), ("180 cm", "169.00")),
           "Wetterfester Stall mit Auslauf, Schlafbereich und herausziehbarer Schublade."),
        _I("Nagerliebe", "Freilaufgehege, 8 Elemente", "erwachsen",
           (("", "49.99"),),
           "Verzinktes Gehege, das sich im Garten oder in der Wohnung aufstellen lässt."),
        _I("Nagerliebe", "Nagerkäfig mit Etagen", "premium jung",
           (("80 cm", "64.90"), ("100 cm", "89.90")),
           "Großzügiger Käfig mit zwei Etagen, Rampe und tiefer Bodenwanne."),
        _I("Heuhaus", "Heuraufe aus Holz", "nachhaltig bestseller",
           (("", "12.99"),),
           "Hält Heu sauber und trocken, zum Einhängen oder Hinstellen."),
        _I("Nagerliebe", "Auslaufsichere Trinkflasche", "preiswert senior",
           (("500 ml", "5.99"),),
           "Trinkflasche mit Kugelventil, einfach von außen zu befüllen."),
        _I("Nagerliebe", "Futternapf aus Keramik", "preiswert jung",
           (("", "7.99"),),
           "Schwerer, kippsicherer Napf, der sich leicht reinigen lässt."),
    ),
    # ------------------------------------------------------------ Aquaristik
    ("aquaristik", "futter"): (
        _I("AquaKlar", "Flockenfutter für Zierfische", "preiswert bestseller",
           (("100 ml", "3.99"), ("1 l", "19.99")),
           "Alleinfutter aus über 40 Zutaten für alle Süßwasserfische."),
        _I("Tiefenblau", "Granulat für Buntbarsche", "premium getreidefrei",
           (("250 ml", "7.49"),),
           "Langsam sinkendes Granulat mit Krill für kräftige Farben."),
        _I("AquaKlar", "Frostfutter Rote Mückenlarven", "getreidefrei",
           (("100 g", "2.99"),),
           "Tiefgefrorenes Lebendfutter in praktischen Portionsblistern."),
        _I("AquaKlar", "Futtertabletten für Welse", "sensitiv",
           (("250 ml", "6.99"),),
           "Schnell sinkende Tabletten für Bodenbewohner, mit Spirulina."),
        _I("Tiefenblau", "Bio-Spirulina-Sticks", "bio nachhaltig",
           (("100 g", "8.99"),),
           "Pflanzliches Futter aus Bio-Spirulina für Pflanzenfresser und Garnelen."),
        _I("AquaKlar", "Teichsticks für Goldfische", "preiswert",
           (("5 l", "34.90"),),
           "Schwimmende Sticks für Goldfische und Koi im Gartenteich."),
        _I("Tiefenblau", "Urlaubsfutter-Block, 14 Tage", "neu",
           (("", "4.49"),),
           "Gibt über zwei Wochen gleichmäßig Futter ab, ohne das Wasser zu trüben."),
    ),
    ("aquaristik", "snacks"): (
        _I("Tiefenblau", "Gefriergetrocknete Artemia", "premium getreidefrei",
           (("50 g", "5.99"),),
           "Proteinreicher Leckerbissen, der auch wählerische Fische überzeugt."),
        _I("AquaKlar", "Garnelen-Leckerbissen", "sensitiv neu",
           (("30 g", "4.49"),),
           "Kupferfreie Sticks, speziell für empfindliche Zwerggarnelen."),
        _I("Tiefenblau", "Algenchips für Garnelen", "nachhaltig bio",
           (("100 ml", "5.49"), ("250 ml", "10.99")),
           "Chips aus nachhaltig gezüchteten Algen, zerfallen langsam."),
        _I("AquaKlar", "Lebendfutter Wasserflöhe", "preiswert getreidefrei",
           (("Beutel", "3.49"),),
           "Frische Daphnien als ballaststoffreiche Abwechslung."),
        _I("Tiefenblau", "Krill-Snack für Meerwasserfische", "premium bestseller",
           (("100 g", "9.99"), ("250 g", "21.99")),
           "Ganze antarktische Krill für farbenprächtige Meerwasserbewohner."),
        _I("AquaKlar", "Snack-Vielfalt für Schildkröten & Fische", "bestseller",
           (("", "12.49"),),
           "Drei Sorten getrocknete Leckerbissen in einem Dosierset."),
    ),
    ("aquaristik", "spielzeug"): (
        _I("Tiefenblau", "Mangrovenwurzel", "nachhaltig bestseller",
           (("S", "12.99"), ("L", "29.99")),
           "Ausgewaschene Wurzel, die Verstecke schafft und das Wasser weicher macht."),
        _I("AquaKlar", "Keramik-Höhle für Welse", "preiswert",
           (("", "9.99"),),
           "Unglasierte Tonhöhle als Rückzugsort und Laichplatz."),
        _I("Tiefenblau", "Kokosnuss-Höhle", "nachhaltig preiswert",
           (("", "6.99"),),
           "Natürliches Versteck aus einer echten Kokosnussschale."),
        _I("Tiefenblau", "Dekofelsen aus Lavastein", "nachhaltig",
           (("3 Stück", "24.99"),),
           "Poröses Gestein für Aufsitzerpflanzen und nützliche Bakterien."),
        _I("AquaKlar", "Schwimmpflanzen-Set", "bio neu",
           (("", "14.99"),),
           "Vier Schwimmpflanzenarten aus Bio-Kultur spenden Schatten und Sauerstoff."),
        _I("AquaKlar", "Deko-Schiffswrack", "preiswert",
           (("", "19.99"),),
           "Detailreiches Wrack aus Polyresin mit vielen Durchschlupfen."),
        _I("Tiefenblau", "Aquascaping-Steinset Drachenstein", "premium",
           (("10 kg", "59.90"),),
           "Zerklüftete Steine für naturnahe Layouts, wasserneutral."),
    ),
    ("aquaristik", "pflege"): (
        _I("AquaKlar", "Wasseraufbereiter", "sensitiv bestseller",
           (("250 ml", "8.99"), ("1 l", "24.99")),
           "Macht Leitungswasser sofort fischgerecht und schützt die Schleimhäute."),
        _I("AquaKlar", "Wassertest-Set 6 in 1", "preiswert",
           (("50 Streifen", "14.99"),),
           "Misst pH, KH, GH, Nitrit, Nitrat und Chlor in einer Minute."),
        _I("Tiefenblau", "Bakterienstarter", "bio sensitiv",
           (("500 ml", "12.49"), ("1 l", "19.99")),
           "Lebende Filterbakterien für einen sicheren Start neuer Aquarien."),
        _I("AquaKlar", "Mulmsauger", "neu",
           (("", "18.99"),),
           "Saugt Schmutz aus dem Bodengrund, ideal für den Teilwasserwechsel."),
        _I("Tiefenblau", "Magnetischer Algenreiniger", "premium",
           (("", "15.99"),),
           "Reinigt Scheiben von außen, ohne die Hände nass zu machen."),
        _I("Tiefenblau", "Flüssiger Pflanzendünger", "nachhaltig",
           (("500 ml", "11.99"),),
           "Eisen und Spurenelemente für gesundes Pflanzenwachstum, garnelensicher."),
    ),
    ("aquaristik", "zubehoer"): (
        _I("Tiefenblau", "Leiser Außenfilter", "premium",
           (("bis 250 l", "109.00"), ("bis 600 l", "179.00")),
           "Mehrstufige Filterung mit Filtermedien und sehr geringer Geräuschentwicklung."),
        _I("AquaKlar", "LED-Aquarienbeleuchtung", "nachhaltig bestseller",
           (("60 cm", "49.99"), ("100 cm", "89.99")),
           "Energiesparende LED-Leiste mit Tageslichtsimulation."),
        _I("AquaKlar", "Regelheizer", "sensitiv",
           (("100 W", "24.99"),),
           "Hält die Wassertemperatur auf ein halbes Grad genau."),
        _I("AquaKlar", "Kompakter Innenfilter", "preiswert",
           (("", "22.99"),),
           "Für Aquarien bis 100 Liter, einfach zu reinigen."),
        _I("Tiefenblau", "Aquarium-Komplettset", "neu",
           (("54 l", "99.00"),),
           "Becken, Abdeckung, LED, Filter und Heizer: alles für den Start."),
        _I("AquaKlar", "Feinmaschiger Kescher", "preiswert",
           (("", "4.99"),),
           "Schonender Kescher mit weichem Netz für kleine Fische."),
    ),
}

_CENT = Decimal("0.01")


def _compare_at(price: Decimal) -> Decimal:
    """A plausible former price: about 25 % higher, rounded up to x.99."""
    return (price * Decimal("1.25")).quantize(Decimal("1"), rounding=ROUND_UP) - _CENT


_WEIGHT = re.compile(r"^(?:(\d+) x )?(\d+(?:,\d+)?) (kg|g)$")


def _weight_kg(size: str) -> Decimal | None:
    """A pack's weight from its size as the shop writes it ("2 kg", "6 x 400 g", "1,5 kg"),
    or None for sizes that are no weight ("54 l", "L")."""
    found = _WEIGHT.match(size)
    if not found:
        return None
    packs, amount, unit = found.groups()
    kilos = Decimal(amount.replace(",", ".")) * int(packs or 1)
    return (kilos / 1000 if unit == "g" else kilos).normalize()


def demo_products() -> list[dict]:
    """Return the demo catalog as a new list of plain dicts (deterministic, >= 160 items)."""
    products: list[dict] = []
    for (category, product_type), items in _CATALOG.items():
        number = 0
        for item in items:
            for size, price_text in item.variants:
                number += 1
                index = len(products)
                sku = f"{category}-{product_type}-{number:03d}"
                price = Decimal(price_text).quantize(_CENT)
                on_sale = index % 9 == 4
                products.append({
                    "sku": sku,
                    "title": f"{item.name}, {size}" if size else item.name,
                    "description": item.description,
                    "category": category,
                    "product_type": product_type,
                    "brand": item.brand,
                    "price": price,
                    "compare_at_price": _compare_at(price) if on_sale else None,
                    "tags": item.tags.split(),
                    "image": f"img/products/{category}-{product_type}.svg",
                    "url": BASE_URL + sku,
                    "available": index % 19 != 11,
                    # A number the quiz can filter on ("a pack of at most 5 kg").
                    "attributes": ({"gewicht_kg": float(weight)}
                                   if (weight := _weight_kg(size)) is not None else {}),
                })
    return products
