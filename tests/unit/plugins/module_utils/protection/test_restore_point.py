"""restore_point selection: latest, by name, by id, by time."""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import restore_point


class Point:
    def __init__(self, name, created_at, point_id=None):
        self.name, self.created_at, self.id = name, created_at, point_id or 'id-' + name


POINTS = [Point('n-1', '2026-11-30T23:00:00.000000'), Point('n-2', '2026-12-01T05:59:59'),
          Point('n-3', '2026-12-01T06:00:01'), Point('n-4', '2026-12-02T00:00:00')]


@pytest.mark.parametrize('wanted, expected', [
    (None, 'n-4'), ('latest', 'n-4'), ('n-2', 'n-2'), ('id-n-3', 'n-3'),
    ('2026-12-01T06:00:00Z', 'n-2'), ('2026-12-01T06:00:01', 'n-3'), ('2026-12-01T07:00:00+01:00', 'n-2'),
    ('2026-12-01', 'n-3'), ('2026-11-30', 'n-1'),
])
def test_selects(wanted, expected):
    assert restore_point.select(POINTS, wanted, 'daily of volume v').name == expected


def test_a_foreign_point_is_reachable_by_id_only():
    foreign = Point('daily', '2026-12-03T00:00:00', 'foreign-id')
    assert restore_point.select(POINTS, 'foreign-id', 'x', any_by_id=[foreign]) is foreign
    with pytest.raises(NotFoundError):
        restore_point.select(POINTS, 'daily', 'x', any_by_id=[foreign])


@pytest.mark.parametrize('wanted, words', [
    ('2026-11-01', 'no restore point taken at or before 2026-11-01T23:59:59.999999+00:00; the oldest is n-1'),
    ('weekly', 'restore_point weekly: daily of volume v has no restore point with this name or id, and it is not a '
               'date'),
])
def test_refusals_name_the_point_and_list_what_exists(wanted, words):
    with pytest.raises(NotFoundError) as raised:
        restore_point.select(POINTS, wanted, 'daily of volume v')
    assert words in raised.value.msg


def test_latest_of_nothing_is_a_clear_error():
    with pytest.raises(NotFoundError, match='daily has no restore point'):
        restore_point.select([], 'latest', 'daily')
