# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-step timings of a long operation, returned as ``timings`` so job output (AWX) shows where the time went.

Ansible-free: the drivers record, the modules return ``Timings.as_list()``.
"""

from __future__ import annotations

import contextlib
import time


class Timings:
    """The steps of one operation, in the order they ended, each with its duration in seconds.

    A step that raised is recorded too: its duration is what the task spent before it failed.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.steps = []

    @contextlib.contextmanager
    def step(self, name):
        """Time the ``with`` block as step ``name``."""
        start = self.clock()
        try:
            yield
        finally:
            self.add(name, self.clock() - start)

    def add(self, name, seconds):
        """Record a step measured elsewhere."""
        self.steps.append(dict(step=name, seconds=round(max(float(seconds), 0.0), 3)))

    def total(self):
        return round(sum(s['seconds'] for s in self.steps), 3)

    def as_list(self):
        """``[{step, seconds}, ...]`` for a module result (copies)."""
        return [dict(s) for s in self.steps]
