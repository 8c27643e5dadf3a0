"""Personal information is ciphertext in the database and found by its keyed hash."""
from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import override_settings

from portal import crypto
from portal.demo import fake_id_number
from portal.masking import mask_address, mask_id_number, mask_phone
from portal.models import Person
from tests.factories import make_person

pytestmark = pytest.mark.django_db


def raw_row(table: str, pk: int, *columns: str) -> tuple[str, ...]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()


def test_it_stores_only_ciphertext_in_the_raw_table() -> None:
    id_number = fake_id_number(date(1980, 2, 29), "F", 7)
    person = make_person(id_number=id_number, mobile="13812345678", home_address="河南省郑州市金水区花园路1号")
    raw_id, raw_mobile, raw_address = raw_row("portal_person", person.pk, "id_number", "mobile", "home_address")
    for raw, plain in [(raw_id, id_number), (raw_mobile, "13812345678"), (raw_address, "花园路")]:
        assert plain not in raw
        assert raw.startswith(crypto.PREFIX)
    assert id_number[6:14] not in raw_id  # not even the birth date part
    fresh = Person.objects.get(pk=person.pk)
    assert (fresh.id_number, fresh.mobile) == (id_number, "13812345678")


def test_it_finds_a_person_by_id_number_through_the_blind_index() -> None:
    id_number = fake_id_number(date(1970, 1, 2), "M", 9)
    person = make_person(id_number=id_number)
    assert list(Person.objects.by_id_number(id_number.lower())) == [person]
    assert not Person.objects.by_id_number(fake_id_number(date(1970, 1, 2), "M", 10)).exists()


def test_it_refuses_lookups_on_ciphertext() -> None:
    with pytest.raises(TypeError, match="哈希"):
        list(Person.objects.filter(id_number="x"))


def test_it_derives_birth_date_and_sex_from_the_id_number() -> None:
    person = make_person(id_number=fake_id_number(date(1968, 12, 31), "F", 3))
    assert person.birth_date == date(1968, 12, 31)
    assert person.sex == "F"


def test_it_rotates_keys_and_old_rows_stay_readable() -> None:
    person = make_person(mobile="13900001111")
    old_keys = list(crypto.settings.PII_ENCRYPTION_KEYS)
    new_key = crypto.generate_key()
    with override_settings(PII_ENCRYPTION_KEYS=[new_key, *old_keys]):
        crypto.reset_keys()
        try:
            from django.core.management import call_command
            call_command("rotate_pii_keys", verbosity=0)
            (raw_mobile,) = raw_row("portal_person", person.pk, "mobile")
            with override_settings(PII_ENCRYPTION_KEYS=[new_key]):
                crypto.reset_keys()
                assert crypto.decrypt(raw_mobile) == "13900001111"
                assert Person.objects.get(pk=person.pk).mobile == "13900001111"
        finally:
            crypto.reset_keys()
    crypto.reset_keys()


def test_it_masks_ids_phones_and_addresses() -> None:
    assert mask_id_number("410102199001011230") == "4101**********1230"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_address("河南省郑州市金水区花园路1号") == "河南省郑州市********"
    assert mask_id_number("") == "" and mask_phone(None) == ""


def test_import_workbooks_are_encrypted_at_rest(zz) -> None:  # noqa: ANN001
    from workshops.models import ImportJob

    secret = b"410402197801010016"
    job = ImportJob.objects.create(city=zz.city, kind="studios", file_name="a.xlsx", file_size=len(secret),
                                   sha256="0" * 64, content=b"PK..." + secret, created_by=zz.city_staff)
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM workshops_importjob WHERE id = %s", [job.pk])
        raw = bytes(cursor.fetchone()[0])
    assert secret not in raw and raw.startswith(crypto.PREFIX.encode())
    assert bytes(ImportJob.objects.get(pk=job.pk).content) == b"PK..." + secret
