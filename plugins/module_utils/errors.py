# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expected failures of the drivers, mapped to one clear ``msg`` by the module base."""

from __future__ import annotations


class ProtectionError(Exception):
    """An expected failure: a message for the user plus result keys to return with it."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


class NotFoundError(ProtectionError):
    """A named resource does not exist."""


class ConflictError(ProtectionError):
    """The request conflicts with what exists (ambiguous name, foreign restore target...)."""


class WaitFailed(ProtectionError):
    """A waited-for resource reached a failure status."""

    def __init__(self, msg, last=None, status=None, **result):
        super().__init__(msg, **result)
        self.last = last
        self.status = status


class WaitTimeout(WaitFailed):
    """A waited-for resource did not reach a final status in time."""
