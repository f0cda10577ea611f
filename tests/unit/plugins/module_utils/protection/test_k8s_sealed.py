"""Secrets sealed with a passphrase (k8s/sealed.py): round trip, wrong passphrase, tampering."""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s import sealed

SECRET = {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'db', 'labels': {'app': 'db'}},
          'type': 'Opaque', 'data': {'password': 'czNjcjN0'}, 'stringData': {'user': 'admin'}}


def test_seal_hides_the_data_and_unseal_gives_it_back():
    sealer = sealed.Sealer('correct horse battery')
    box = sealer.seal(SECRET)
    assert 'data' not in box and 'stringData' not in box and sealed.is_sealed(box)
    assert box['metadata'] == SECRET['metadata'] and box['type'] == 'Opaque'
    assert 'czNjcjN0' not in repr(box) and 'admin' not in repr(box)
    reopened = sealed.Sealer.for_checkpoint(sealer.describe(), 'correct horse battery', 'cp-1')
    assert reopened.unseal(box, 'Secret/ns/db') == SECRET


def test_a_checkpoint_records_no_key_material_and_refuses_a_wrong_passphrase():
    sealer = sealed.Sealer('correct horse battery')
    sealing = sealer.describe()
    assert set(sealing) == {'scheme', 'salt', 'check'} and 'correct' not in repr(sealing)
    with pytest.raises(sealed.SealError, match='does not open the secrets of checkpoint cp-1'):
        sealed.Sealer.for_checkpoint(sealing, 'correct horse battery!', 'cp-1')
    with pytest.raises(sealed.SealError, match='cannot open'):
        sealed.Sealer.for_checkpoint(dict(sealing, scheme='rot13'), 'correct horse battery', 'cp-1')


def test_each_checkpoint_has_its_own_salt_and_tampering_is_detected():
    one, two = sealed.Sealer('correct horse battery'), sealed.Sealer('correct horse battery')
    assert one.describe()['salt'] != two.describe()['salt']
    box = one.seal(SECRET)
    token = box[sealed.SEALED]
    box[sealed.SEALED] = token[:-8] + ('A' if token[-8] != 'A' else 'B') + token[-7:]
    with pytest.raises(sealed.SealError, match='Secret/ns/db is damaged'):
        one.unseal(box, 'Secret/ns/db')
    with pytest.raises(sealed.SealError, match='damaged'):
        two.unseal(dict(box, **{sealed.SEALED: token}), 'Secret/ns/db')  # another checkpoint's key
