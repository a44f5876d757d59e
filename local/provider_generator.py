"""A deterministic provider directory (seeded RNG): every provider type in every province and territory.

Realistic names (French in Quebec and New Brunswick francophone areas, English elsewhere), NANP
phones in E.164 from each province's real area codes with the 555-01XX lines reserved for fiction,
and postal codes whose first letter matches the province. The same seed always gives the same
directory, so tests and the local stack can name known providers (see :data:`FIXED`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from portal_common.claim_types import claim_types

SEED = 20260401

AREA_CODES: dict[str, list[str]] = {
    "NL": ["709"],
    "NS": ["902", "782"],
    "PE": ["902"],
    "NB": ["506"],
    "QC": ["514", "438", "450", "579", "418", "581", "819", "873"],
    "ON": ["416", "647", "437", "905", "289", "613", "343", "519", "226", "705", "807"],
    "MB": ["204", "431"],
    "SK": ["306", "639"],
    "AB": ["403", "587", "780", "825"],
    "BC": ["604", "778", "236", "250"],
    "YT": ["867"],
    "NT": ["867"],
    "NU": ["867"],
}
CITIES: dict[str, list[tuple[str, str]]] = {
    "NL": [("St. John's", "A1C"), ("Corner Brook", "A2H"), ("Gander", "A1V")],
    "NS": [("Halifax", "B3H"), ("Dartmouth", "B2Y"), ("Sydney", "B1P")],
    "PE": [("Charlottetown", "C1A"), ("Summerside", "C1N")],
    "NB": [("Moncton", "E1C"), ("Fredericton", "E3B"), ("Edmundston", "E3V"), ("Saint John", "E2L")],
    "QC": [
        ("Montréal", "H2X"),
        ("Montréal", "H3H"),
        ("Laval", "H7N"),
        ("Québec", "G1R"),
        ("Lévis", "G6V"),
        ("Gatineau", "J8Y"),
        ("Sherbrooke", "J1H"),
        ("Trois-Rivières", "G9A"),
        ("Longueuil", "J4K"),
    ],
    "ON": [
        ("Toronto", "M5V"),
        ("Toronto", "M4W"),
        ("Ottawa", "K1P"),
        ("Mississauga", "L5B"),
        ("Hamilton", "L8P"),
        ("London", "N6A"),
        ("Sudbury", "P3E"),
        ("Thunder Bay", "P7B"),
        ("Kingston", "K7L"),
    ],
    "MB": [("Winnipeg", "R3C"), ("Brandon", "R7A")],
    "SK": [("Regina", "S4P"), ("Saskatoon", "S7K")],
    "AB": [("Calgary", "T2P"), ("Edmonton", "T5J"), ("Red Deer", "T4N")],
    "BC": [("Vancouver", "V6B"), ("Victoria", "V8W"), ("Kelowna", "V1Y"), ("Surrey", "V3T")],
    "YT": [("Whitehorse", "Y1A")],
    "NT": [("Yellowknife", "X1A")],
    "NU": [("Iqaluit", "X0A")],
}
FRENCH_PROVINCES = {"QC"}
FR_FIRST = [
    "Julie",
    "Marc",
    "Isabelle",
    "François",
    "Geneviève",
    "Mathieu",
    "Émilie",
    "Sébastien",
    "Catherine",
    "Louis",
    "Mélanie",
    "Étienne",
    "Valérie",
    "Jérôme",
    "Chantal",
    "Benoît",
    "Nathalie",
    "Hélène",
    "Gabriel",
    "Maude",
    "Olivier",
    "Josée",
    "Stéphane",
    "Andréanne",
]
FR_LAST = [
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Ouellet",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Paquette",
    "Girard",
    "Simard",
    "Boucher",
    "Caron",
    "Beaulieu",
    "Cloutier",
    "Dubé",
    "Poirier",
    "Fournier",
    "Lapointe",
    "Thériault",
]
EN_FIRST = [
    "Sarah",
    "Michael",
    "Jennifer",
    "David",
    "Emily",
    "James",
    "Jessica",
    "Daniel",
    "Ashley",
    "Ryan",
    "Amanda",
    "Kevin",
    "Priya",
    "Wei",
    "Amir",
    "Olivia",
    "Liam",
    "Hannah",
    "Raj",
    "Grace",
    "Ethan",
    "Chloe",
    "Mei",
    "Noah",
]
EN_LAST = [
    "Smith",
    "Brown",
    "Wilson",
    "MacDonald",
    "Taylor",
    "Campbell",
    "Anderson",
    "Clarke",
    "Stewart",
    "Thompson",
    "Robinson",
    "Patel",
    "Singh",
    "Wong",
    "Chen",
    "Nguyen",
    "Murphy",
    "O'Brien",
    "Fraser",
    "Kowalski",
    "Hughes",
    "Morrison",
    "Grant",
    "Reid",
    "Sutherland",
    "Kaur",
    "Ali",
    "Lee",
]
STREETS_FR = [
    "rue Saint-Denis",
    "boulevard René-Lévesque",
    "rue Sherbrooke Est",
    "avenue du Mont-Royal",
    "rue Principale",
    "chemin Sainte-Foy",
    "boulevard Laurier",
    "rue King Ouest",
    "rue Notre-Dame",
]
STREETS_EN = [
    "Main Street",
    "King Street West",
    "Queen Street",
    "Portage Avenue",
    "Jasper Avenue",
    "Granville Street",
    "Water Street",
    "Spring Garden Road",
    "Albert Street",
    "Yonge Street",
    "Broadway",
]
POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"

# Provider types that are businesses rather than practitioners, with name patterns.
BUSINESS_TYPES: dict[str, tuple[list[str], list[str]]] = {
    "PHARMACY": (
        ["Pharmacie {last}", "Pharmacie du Quartier {city}", "Pharmacie {last} et associés"],
        ["{last} Pharmacy", "{city} Community Pharmacy", "{last} Drugs"],
    ),
    "HOSPITAL": (
        ["Hôpital {city}", "Centre hospitalier de {city}"],
        ["{city} General Hospital", "{city} Regional Hospital"],
    ),
    "AMBULANCE_SERVICE": (
        ["Ambulances {city}", "Services préhospitaliers {city}"],
        ["{city} Ambulance Services", "{city} EMS"],
    ),
    "LABORATORY": (
        ["Laboratoire médical {city}", "Clinique d'imagerie {city}"],
        ["{city} Medical Laboratories", "{city} Imaging Centre"],
    ),
    "MEDICAL_SUPPLIER": (
        ["Équipements médicaux {last}", "Orthopédie {city}"],
        ["{city} Home Health Care", "{last} Medical Supply"],
    ),
}
CLINIC_PATTERNS = (
    ["Clinique {last}", "Centre de santé {city}", "Clinique {city}"],
    ["{last} Clinic", "{city} Health Centre", "{city} Wellness Clinic"],
)

# Known providers for demos and tests (always generated first, same ids and phones).
FIXED: list[dict[str, Any]] = [
    {
        "providerId": "PDEMO0000000000000000000001",
        "firstName": "Julie",
        "lastName": "Lavoie",
        "businessName": "Physio Plateau",
        "providerType": "PHYSIOTHERAPIST",
        "phone": "+15145550199",
        "address": {"line1": "4321, rue Saint-Denis", "city": "Montréal", "province": "QC", "postalCode": "H2J 2K9"},
    },
    {
        "providerId": "PDEMO0000000000000000000002",
        "firstName": "Marc",
        "lastName": "Gauthier",
        "businessName": "Centre dentaire Laurier",
        "providerType": "DENTIST",
        "phone": "+14185550142",
        "address": {"line1": "1200, boulevard Laurier", "city": "Québec", "province": "QC", "postalCode": "G1V 2L8"},
    },
    {
        "providerId": "PDEMO0000000000000000000003",
        "firstName": "Sarah",
        "lastName": "Mitchell",
        "providerType": "MASSAGE_THERAPIST",
        "phone": "+14165550123",
        "address": {"line1": "250 Queen Street West", "city": "Toronto", "province": "ON", "postalCode": "M5V 1Z7"},
    },
    {
        "providerId": "PDEMO0000000000000000000004",
        "businessName": "Pharmacie Bélanger et associés",
        "providerType": "PHARMACY",
        "phone": "+15145550150",
        "address": {"line1": "5100, avenue du Parc", "city": "Montréal", "province": "QC", "postalCode": "H2V 4G7"},
    },
]


def _postal(rng: random.Random, fsa: str) -> str:
    return f"{fsa} {rng.randint(0, 9)}{rng.choice(POSTAL_LETTERS)}{rng.randint(0, 9)}"


def generate(per_type_per_province: int = 1, extra_large_provinces: int = 2) -> Iterator[dict[str, Any]]:
    """Provider dicts (the providers function's ``build_provider`` arguments plus ``providerId``)."""
    rng = random.Random(SEED)
    used_phones = {p["phone"] for p in FIXED}
    yield from FIXED
    provider_types = sorted(claim_types().catalogue.provider_types)
    counter = 0
    for province in sorted(AREA_CODES):
        french = province in FRENCH_PROVINCES or (province == "NB" and rng.random() < 0.5)
        count = per_type_per_province + (extra_large_provinces if province in ("QC", "ON", "BC", "AB") else 0)
        for provider_type in provider_types:
            for _ in range(count):
                counter += 1
                city, fsa = rng.choice(CITIES[province])
                phone = None
                while phone is None or phone in used_phones:
                    phone = f"+1{rng.choice(AREA_CODES[province])}5550{rng.randint(100, 199)}"
                used_phones.add(phone)
                first = rng.choice(FR_FIRST if french else EN_FIRST)
                last = rng.choice(FR_LAST if french else EN_LAST)
                street = rng.choice(STREETS_FR if french else STREETS_EN)
                number = rng.randint(10, 9999)
                provider: dict[str, Any] = {
                    "providerId": f"PDIR{counter:022d}",
                    "providerType": provider_type,
                    "phone": phone,
                    "address": {
                        "line1": f"{number}, {street}" if french else f"{number} {street}",
                        "city": city,
                        "province": province,
                        "postalCode": _postal(rng, fsa),
                    },
                    "registrationNumber": f"{rng.randint(10000, 99999)}",
                }
                if provider_type in BUSINESS_TYPES:
                    patterns = BUSINESS_TYPES[provider_type][0 if french else 1]
                    provider["businessName"] = rng.choice(patterns).format(last=last, city=city)
                else:
                    provider["firstName"] = first
                    provider["lastName"] = last
                    if rng.random() < 0.4:
                        patterns = CLINIC_PATTERNS[0 if french else 1]
                        provider["businessName"] = rng.choice(patterns).format(last=last, city=city)
                yield provider
