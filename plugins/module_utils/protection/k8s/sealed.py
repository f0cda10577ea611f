# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets sealed in the bank with a passphrase the user gives (``encrypt_secrets`` / ``secrets_key``).

The crypto is the ``cryptography`` library's: Fernet (AES-128-CBC with HMAC-SHA256, authenticated) under a key
derived from the passphrase by scrypt with a random salt per checkpoint. A Secret's ``data`` and ``stringData``
are sealed; its name and labels stay readable so a listing shows what the checkpoint holds. The checkpoint keeps
the scheme, the salt and a sealed check value, so a wrong passphrase is refused before a restore makes anything.
"""

from __future__ import annotations

import base64
import json
import os

try:
    from cryptography.fernet import Fernet, InvalidToken
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    HAS_CRYPTOGRAPHY = True
except ImportError:  # reported by the module (missing_required_lib) before this is used
    HAS_CRYPTOGRAPHY = False

SCHEME = 'fernet-scrypt-v1'
SEALED = 'x-dataprotection-sealed'  # the key of a saved manifest holding the sealed data
SEALED_FIELDS = ('data', 'stringData')
_CHECK = b'dataprotection.openstack sealed secrets'
# scrypt cost: about 50 ms here; RFC 7914's interactive parameters.
_N, _R, _P = 2 ** 14, 8, 1
MIN_KEY_LENGTH = 12


class SealError(Exception):
    pass


class Sealer:
    """Seals and unseals Secret manifests of one checkpoint (one salt, one derived key)."""

    def __init__(self, passphrase, salt=None):
        if not HAS_CRYPTOGRAPHY:
            raise SealError('sealing secrets needs the Python library cryptography')
        self.salt = salt if salt is not None else os.urandom(16)
        key = Scrypt(salt=self.salt, length=32, n=_N, r=_R, p=_P).derive(passphrase.encode('utf-8'))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    @classmethod
    def for_checkpoint(cls, sealing, passphrase, checkpoint_id):
        """The sealer of a checkpoint's ``extra.sealing``; a wrong passphrase is refused here, by the check value."""
        if sealing.get('scheme') != SCHEME:
            raise SealError('checkpoint %s seals its secrets with %r, which this version cannot open'
                            % (checkpoint_id, sealing.get('scheme')))
        sealer = cls(passphrase, base64.b64decode(sealing['salt']))
        try:
            if sealer._fernet.decrypt(sealing['check'].encode('ascii')) != _CHECK:
                raise InvalidToken()
        except InvalidToken:
            raise SealError('secrets_key does not open the secrets of checkpoint %s (a different passphrase sealed '
                            'them)' % checkpoint_id) from None
        return sealer

    def describe(self):
        """What the checkpoint records: scheme, salt and the sealed check value (no key material)."""
        return dict(scheme=SCHEME, salt=base64.b64encode(self.salt).decode('ascii'),
                    check=self._fernet.encrypt(_CHECK).decode('ascii'))

    def seal(self, manifest):
        secret = dict((f, manifest[f]) for f in SEALED_FIELDS if f in manifest)
        sealed = dict((k, v) for k, v in manifest.items() if k not in SEALED_FIELDS)
        sealed[SEALED] = self._fernet.encrypt(json.dumps(secret, sort_keys=True).encode('utf-8')).decode('ascii')
        return sealed

    def unseal(self, manifest, what):
        try:
            secret = json.loads(self._fernet.decrypt(manifest[SEALED].encode('ascii')).decode('utf-8'))
        except (InvalidToken, ValueError):
            raise SealError('the sealed data of %s is damaged (it does not authenticate)' % what) from None
        opened = dict((k, v) for k, v in manifest.items() if k != SEALED)
        opened.update(secret)
        return opened


def is_sealed(manifest):
    return SEALED in (manifest or {})
