"""Deterministic synthetic data: persons, addresses and companies — test data only.

BSNs come from the block 999 900 000 – 999 999 999 (prefix 9999), where the BRP's published test persons
lie (for example 999993653 and 999990019), and pass the "elfproef" (11-check) a BSN must pass — about 9,000
numbers. nds generates persons only there. Every record carries ``testgegevens: true``. The same seed
always gives the same data, so tests and demos can name people.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

TEST_BSN_FIRST = 999_900_000
TEST_BSN_LAST = 999_999_999

FIRST_NAMES = (
    "Anna",
    "Bram",
    "Chantal",
    "Daan",
    "Eva",
    "Fatima",
    "Gerrit",
    "Hanna",
    "Ibrahim",
    "Julia",
    "Kees",
    "Lotte",
    "Mohamed",
    "Noor",
    "Oscar",
    "Priya",
    "Quinten",
    "Roos",
    "Sem",
    "Tess",
    "Umar",
    "Vera",
    "Willem",
    "Yara",
    "Zoë",
)
LAST_NAMES = (
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "van Dijk",
    "Bakker",
    "Janssen",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "Yilmaz",
    "El Amrani",
    "Nguyen",
    "Kaya",
    "Pinas",
)
STREETS = (
    "Dorpsstraat",
    "Kerkstraat",
    "Stationsweg",
    "Molenweg",
    "Schoolstraat",
    "Beukenlaan",
    "Eikenlaan",
    "Julianastraat",
    "Wilhelminastraat",
    "Raadhuisplein",
    "Havenkade",
    "Parallelweg",
)
TOWNS = (("Voorbeeldstad", "0999"), ("Testdorp", "0998"), ("Proefwijk", "0997"))
TRADES = (
    "Bakkerij",
    "Fietsenmaker",
    "Installatiebedrijf",
    "Adviesbureau",
    "Kapsalon",
    "Boekhandel",
    "Schildersbedrijf",
    "Softwarebedrijf",
    "Hoveniersbedrijf",
    "Café",
)


def is_valid_bsn(bsn: str) -> bool:
    """The BSN 11-check: sum of digits × (9..2, and −1 for the last) is divisible by 11."""
    if len(bsn) != 9 or not bsn.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(bsn[:8], range(9, 1, -1), strict=True)) - int(bsn[8])
    return total % 11 == 0 and int(bsn) != 0


def synthetic_bsns(n: int) -> list[str]:
    """The first ``n`` valid BSNs of the test block, starting with the published test persons' part."""
    out = []
    block = [*range(999_990_000, TEST_BSN_LAST + 1), *range(TEST_BSN_FIRST, 999_990_000)]
    for v in block:
        s = f"{v:09d}"
        if is_valid_bsn(s):
            out.append(s)
            if len(out) == n:
                return out
    raise ValueError(f"the test range holds fewer than {n} valid BSNs")


@dataclass(frozen=True)
class Address:
    id: str  # BAG-like nummeraanduiding id (16 digits)
    street: str
    number: int
    postcode: str
    town: str
    municipality_code: str

    def to_json(self) -> dict[str, object]:
        return {
            "identificatie": self.id,
            "straat": self.street,
            "huisnummer": self.number,
            "postcode": self.postcode,
            "woonplaats": self.town,
            "gemeentecode": self.municipality_code,
            "testgegevens": True,
        }


@dataclass(frozen=True)
class Person:
    bsn: str
    given_name: str
    surname: str
    birth_date: str
    address_id: str

    def to_json(self) -> dict[str, object]:
        return {
            "burgerservicenummer": self.bsn,
            "voornamen": self.given_name,
            "geslachtsnaam": self.surname,
            "geboortedatum": self.birth_date,
            "verblijfplaats": {"adresIdentificatie": self.address_id},
            "testgegevens": True,
        }


@dataclass(frozen=True)
class Company:
    kvk: str
    name: str
    owner_bsn: str
    address_id: str

    def to_json(self) -> dict[str, object]:
        return {
            "kvkNummer": self.kvk,
            "naam": self.name,
            "eigenaar": {"burgerservicenummer": self.owner_bsn},
            "vestigingsadres": {"adresIdentificatie": self.address_id},
            "testgegevens": True,
        }


@dataclass(frozen=True)
class Dataset:
    persons: dict[str, Person]
    addresses: dict[str, Address]
    companies: dict[str, Company]


@lru_cache(maxsize=4)
def generate(n_persons: int = 5000, seed: int = 2025) -> Dataset:
    rnd = random.Random(seed)
    addresses: dict[str, Address] = {}
    for i in range(max(n_persons // 2, 1)):
        town, code = TOWNS[i % len(TOWNS)]
        aid = f"{code}200000{i:07d}"[:16].ljust(16, "0")
        addresses[aid] = Address(
            aid,
            rnd.choice(STREETS),
            rnd.randint(1, 250),
            f"{rnd.randint(1000, 9999)} {rnd.choice('ABCDEFGHJKLMNPRSTVWXZ')}"
            f"{rnd.choice('ABCDEFGHJKLMNPRSTVWXZ')}",
            town,
            code,
        )
    addr_ids = list(addresses)
    persons: dict[str, Person] = {}
    for bsn in synthetic_bsns(n_persons):
        y, m, d = rnd.randint(1935, 2007), rnd.randint(1, 12), rnd.randint(1, 28)
        persons[bsn] = Person(
            bsn,
            rnd.choice(FIRST_NAMES),
            rnd.choice(LAST_NAMES),
            f"{y:04d}-{m:02d}-{d:02d}",
            rnd.choice(addr_ids),
        )
    bsns = list(persons)
    companies: dict[str, Company] = {}
    for i in range(max(n_persons // 10, 1)):
        kvk = f"9{i:07d}"
        owner = rnd.choice(bsns)
        companies[kvk] = Company(
            kvk, f"{rnd.choice(TRADES)} {persons[owner].surname}", owner, rnd.choice(addr_ids)
        )
    return Dataset(persons, addresses, companies)
