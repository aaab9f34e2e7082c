"""The local provider: a master key file outside the database wraps each firm's KEK."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.conf import settings

from firms.models import FirmKey
from keys import metrics
from keys.errors import CiphertextInvalid, KeyUnavailable
from keys.local import LocalKeyProvider
from keys.models import LocalKek
from tests.helpers import make_firm

pytestmark = pytest.mark.django_db


def master_key_file() -> Path:
    return Path(settings.LOCAL_MASTER_KEY_PATH)


def test_the_master_key_is_made_on_first_use_readable_by_its_owner_only():
    assert not master_key_file().exists()
    make_firm("acme")
    path = master_key_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(path.read_bytes()) == 32
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_the_master_key_is_kept_across_uses():
    make_firm("acme")
    first = master_key_file().read_bytes()
    make_firm("globex")
    assert master_key_file().read_bytes() == first


def test_each_firm_gets_its_own_kek_stored_only_wrapped():
    acme, globex = make_firm("acme"), make_firm("globex")
    acme_key, globex_key = FirmKey.objects.get(firm=acme), FirmKey.objects.get(firm=globex)
    assert acme_key.provider == "local" and acme_key.state == FirmKey.State.ACTIVE
    assert acme_key.key_id.startswith("local:") and acme_key.key_id != globex_key.key_id
    wrapped = bytes(LocalKek.objects.get(key_id=acme_key.key_id).wrapped_kek)
    assert len(wrapped) == 12 + 32 + 16  # nonce, KEK, tag: nothing stored in the clear


def test_a_kek_does_not_open_under_another_master_key(tmp_path, settings):
    firm = make_firm("acme")
    key_id = FirmKey.objects.get(firm=firm).key_id
    LocalKeyProvider().health_check(key_id)
    settings.LOCAL_MASTER_KEY_PATH = str(tmp_path / "other" / "master.key")
    with pytest.raises(KeyUnavailable, match="does not open under the master key"):
        LocalKeyProvider().health_check(key_id)


def test_a_kek_wrap_cannot_be_moved_to_another_key_id():
    acme, globex = make_firm("acme"), make_firm("globex")
    acme_id = FirmKey.objects.get(firm=acme).key_id
    globex_id = FirmKey.objects.get(firm=globex).key_id
    acme_wrap = LocalKek.objects.get(key_id=acme_id).wrapped_kek
    LocalKek.objects.filter(key_id=globex_id).update(wrapped_kek=acme_wrap)
    with pytest.raises(KeyUnavailable):
        LocalKeyProvider().health_check(globex_id)


def test_a_group_readable_master_key_is_refused():
    firm = make_firm("acme")
    key_id = FirmKey.objects.get(firm=firm).key_id
    master_key_file().chmod(0o640)
    with pytest.raises(KeyUnavailable, match="chmod 600"):
        LocalKeyProvider().health_check(key_id)


def test_data_keys_open_only_with_the_context_they_were_made_with():
    firm = make_firm("acme")
    key_id = FirmKey.objects.get(firm=firm).key_id
    provider = LocalKeyProvider()
    context = {"firm": "firm_acme", "purpose": "data", "version": "7"}
    plaintext, wrapped = provider.generate_data_key(key_id, context)
    assert len(plaintext) == 32 and plaintext not in wrapped
    assert provider.decrypt_data_key(key_id, wrapped, dict(context)) == plaintext
    for changed in ({"firm": "firm_globex"}, {"purpose": "index"}, {"version": "8"}):
        with pytest.raises(CiphertextInvalid):
            provider.decrypt_data_key(key_id, wrapped, {**context, **changed})


def test_deletion_erases_the_kek_for_good():
    firm = make_firm("acme")
    key_id = FirmKey.objects.get(firm=firm).key_id
    provider = LocalKeyProvider()
    context = {"firm": "firm_acme", "purpose": "data", "version": "1"}
    _plaintext, wrapped = provider.generate_data_key(key_id, context)
    provider.schedule_key_deletion(key_id)
    row = LocalKek.objects.get(key_id=key_id)
    assert row.wrapped_kek is None and row.destroyed_at is not None
    with pytest.raises(KeyUnavailable, match="destroyed"):
        provider.decrypt_data_key(key_id, wrapped, context)
    with pytest.raises(KeyUnavailable, match="destroyed"):
        provider.health_check(key_id)


def test_an_unknown_key_id_is_unavailable():
    with pytest.raises(KeyUnavailable, match="unknown"):
        LocalKeyProvider().health_check("local:00000000-0000-4000-8000-000000000000")


def test_every_provider_operation_is_counted():
    firm = make_firm("acme")  # create_key + two generate_data_key
    assert metrics.provider_calls == 3
    key_id = FirmKey.objects.get(firm=firm).key_id
    LocalKeyProvider().health_check(key_id)
    assert metrics.provider_calls == 4
    metrics.reset()
    assert metrics.provider_calls == 0
