"""The database itself refuses what would break the ledger, whatever the code does."""
import psycopg
import pytest

from .conftest import SHOP, sale


def test_a_balance_can_never_go_negative(points, db):
    points.earn(sale(amount="50"))  # 2 points
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO entries (shop_id, phone, kind, points, source, actor_type, balance_after, account_seq) "
            "VALUES (%s, '+66812345678', 'redeem', -3, 'test', 'system', 0, 0)", (SHOP,))
    assert points.balance({"shop_id": str(SHOP), "phone": "0812345678"})["balance"] == 2


def test_entries_are_append_only(points, db):
    points.earn(sale())
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("UPDATE entries SET points = 1000")
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("DELETE FROM entries")
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("TRUNCATE entries CASCADE")


def test_a_balance_moves_only_through_an_entry(points, db):
    points.earn(sale())
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("UPDATE accounts SET balance = 1000000")


def test_balance_is_the_sum_of_entries(points, db):
    for amount in ("25", "80", "125.50", "3"):
        points.earn(sale(amount=amount))
    row = db.execute(
        "SELECT a.balance, (SELECT sum(points) FROM entries e "
        "WHERE e.shop_id = a.shop_id AND e.phone = a.phone) AS total FROM accounts a").fetchone()
    assert row["balance"] == row["total"] == 1 + 3 + 5
