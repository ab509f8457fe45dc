import datetime

import pytest

from chassis import errors
from gateway import privacy_contracts, tiers_contracts


@pytest.mark.parametrize("schema", [tiers_contracts.CycleBody(), privacy_contracts.RetentionRunBody()])
def test_jobs_over_http_run_as_of_now_or_the_past_never_the_future(schema):
    now = datetime.datetime.now(datetime.UTC)
    assert errors.load(schema, {})["as_of"] is None
    assert errors.load(schema, {"as_of": (now - datetime.timedelta(days=40)).isoformat()})["as_of"] < now
    with pytest.raises(errors.InvalidInput) as caught:
        errors.load(schema, {"as_of": (now + datetime.timedelta(days=40)).isoformat()})
    assert caught.value.fields == {"as_of": ["must not be in the future"]}
