from members import domain


def test_api_keys_are_random_and_only_their_hash_is_kept():
    key, prefix, key_hash = domain.new_api_key()
    other, _, other_hash = domain.new_api_key()
    assert key.startswith("lk_") and len(key) > 40 and key != other
    assert key.startswith(prefix) and len(prefix) == 10
    assert key_hash == domain.hash_api_key(key) != other_hash
    assert key.encode() not in key_hash


def test_time_zones_are_iana_names():
    assert domain.is_timezone("Asia/Bangkok")
    assert domain.is_timezone("UTC")
    assert not domain.is_timezone("Bangkok")
    assert not domain.is_timezone("../../etc/passwd")
    assert not domain.is_timezone("")
