"""All SQL of the points service, by area. Raises points' errors, never psycopg's."""
from points.store import channels, jobs, ledger, reads, sales, stamp_cards, stamp_ledger, stamp_reads  # noqa: F401
from points.store.sales import Missing  # noqa: F401
