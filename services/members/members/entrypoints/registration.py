"""Registration with consent, profiles and their history, tags, registration questions, search."""
from nameko.rpc import rpc

from chassis.errors import load
from members import errors, profile_store, registration
from members import registration_contracts as contracts


class Registration:
    @rpc(expected_exceptions=errors.EXPECTED)
    def register(self, request):
        """Register a member (by the member, staff or an admin: `actor`) with consent to the
        shop's current terms (`consent: true`, `consent_version`), answers to its questions and
        tags. Claims the phone-only or imported member of that phone with its points.
        Idempotent on `idempotency_key`. Errors: invalid_input (consent, phone, birthday, ...),
        invalid_answers, consent_outdated, consent_text_missing, already_registered,
        line_user_taken, idempotency_key_reused. Events: members.registered, members.tagged."""
        cmd = load(contracts.REGISTER, request)
        with self.db.transaction() as conn:
            result, replayed = registration.register(conn, cmd, self.outbox)
        return {**result, "replayed": replayed}

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_member(self, request):
        """A member's profile: personal fields, consent, tier, tags, answers, running totals."""
        cmd = load(contracts.MemberRef(), request)
        with self.db.connection() as conn:
            return contracts.PROFILE.dump(profile_store.get_profile(conn, cmd["shop_id"], cmd["member_id"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def update_profile(self, request):
        """Change any of name, gender, birthday, email, address, line_user_id; the old and new
        values are kept in the member's history. Errors: member_not_found, member_erased,
        line_user_taken. Event: members.updated."""
        cmd = load(contracts.UpdateProfile(), request)
        with self.db.transaction() as conn:
            return registration.update_profile(conn, cmd, self.outbox)

    @rpc(expected_exceptions=errors.EXPECTED)
    def member_history(self, request):
        """A member's profile changes, newest first (`before` = the last change_id of a page)."""
        cmd = load(contracts.History(), request)
        with self.db.connection() as conn:
            profile_store.get_profile(conn, cmd["shop_id"], cmd["member_id"])
            rows = profile_store.history(conn, cmd["member_id"], cmd["limit"], cmd["before"])
        changes = contracts.Change(many=True).dump(rows)
        return {"changes": changes, "next_before": changes[-1]["change_id"] if len(changes) == cmd["limit"] else None}

    @rpc(expected_exceptions=errors.EXPECTED)
    def add_tags(self, request):
        """Tag a member (admin or staff). Event: members.tagged."""
        cmd = load(contracts.TagChange(), request)
        with self.db.transaction() as conn:
            return registration.change_tags(conn, cmd, self.outbox, add=True)

    @rpc(expected_exceptions=errors.EXPECTED)
    def remove_tags(self, request):
        """Remove tags from a member. Event: members.tagged."""
        cmd = load(contracts.TagChange(), request)
        with self.db.transaction() as conn:
            return registration.change_tags(conn, cmd, self.outbox, add=False)

    @rpc(expected_exceptions=errors.EXPECTED)
    def search_members(self, request):
        """Members by phone (or its last digits), name prefix, tag, tier, status; keyset pages."""
        cmd = load(contracts.Search(), request)
        with self.db.connection() as conn:
            return registration.search(conn, cmd)

    @rpc(expected_exceptions=errors.EXPECTED)
    def publish_consent_text(self, request):
        """Publish a version of the shop's terms and privacy text; it becomes the one members
        consent to. Errors: consent_version_exists. Event: members.consent_text_published."""
        cmd = load(contracts.SetConsentText(), request)
        with self.db.transaction() as conn:
            return registration.publish_consent(conn, cmd, self.outbox)

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_consent_text(self, request):
        """The shop's current terms and privacy text (version null when none is published)."""
        cmd = load(contracts.ShopOnly(), request)
        with self.db.connection() as conn:
            return contracts.ConsentText().dump(profile_store.shop_consent(conn, cmd["shop_id"]))

    @rpc(expected_exceptions=errors.EXPECTED)
    def save_question(self, request):
        """Create or change a registration question (single, multiple, text; a choice may add a
        tag). Event: members.question_saved."""
        cmd = load(contracts.SaveQuestion(), request)
        with self.db.transaction() as conn:
            return registration.save_question(conn, cmd, self.outbox)

    @rpc(expected_exceptions=errors.EXPECTED)
    def archive_question(self, request):
        """Stop asking a question. Event: members.question_archived."""
        cmd = load(contracts.QuestionRef(), request)
        with self.db.transaction() as conn:
            return registration.archive_question(conn, cmd, self.outbox)

    @rpc(expected_exceptions=errors.EXPECTED)
    def list_questions(self, request):
        """The shop's registration questions, in order."""
        cmd = load(contracts.ShopOnly(), request)
        with self.db.connection() as conn:
            return {"questions": contracts.Question(many=True).dump(profile_store.live_questions(conn, cmd["shop_id"]))}
