"""Stamp cards' use cases: card designs and their lifecycle, stamp QR codes, grants, voids,
members' cards closing (expiry, a suspension's reset), statistics and history. Each runs in
the caller's transaction and writes its events to the outbox there (rules: stamp_domain).

    cards      designs and their lifecycle (draft, active, suspended, deleted)
    granting   stamp QR codes (one-time, printed), members' scans and their grants, voids
    reading    a member's cards and history, statistics; tickets' coupons from rewards
    jobs       closing members' cards (expiry as of a time, a suspension's reset), the CLI:

    python -m points.stamps --config services/points/config.yaml expire --as-of 2027-01-01T00:00:00+07:00
"""
from points.stamps.cards import (  # noqa: F401
    CARD,
    activate_card,
    check_rewards,
    create_card,
    delete_card,
    suspend_card,
    update_card,
)
from points.stamps.granting import claim, create_qr, printed_result, read_qr, replay, set_printed, void  # noqa: F401
from points.stamps.jobs import CHUNK, expire_members, finish_resets, main  # noqa: F401
from points.stamps.reading import member_stamps, stats, ticket_coupons_issued, ticket_used  # noqa: F401
