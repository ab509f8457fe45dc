"""Members: registration with consent, profiles and their history, tags, questions, search."""
from gateway import members_contracts as mc
from gateway.auth import ADMIN, INTERNAL, STAFF
from gateway.endpoints import endpoint

MEMBER = "/shops/{shop_id}/members/{member_id}"


def _ready(value):
    """Loaded values (UUIDs, dates) back to JSON for the RPC."""
    if isinstance(value, dict):
        return {k: _ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ready(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


class MemberRoutes:
    @endpoint("POST", "/shops/{shop_id}/members", summary="Register a member (with their consent)",
              roles=(STAFF, ADMIN), request=mc.RegisterBody, response=mc.Profile, status=201, idempotent=True,
              tag="members")
    def register_member(self, call, shop_id):
        """The member must consent to the shop's current terms (`consent: true` and its
        `consent_version`). A phone that already earned points (phone-only) or was imported is
        claimed with its points; a registered phone is 409 already_registered."""
        member = self.members.call("register", {
            "idempotency_key": call.key, "fingerprint": call.fingerprint, "shop_id": shop_id,
            "actor": call.principal.actor, **_ready(call.body)})
        return member, member["replayed"]

    @endpoint("GET", "/shops/{shop_id}/members", summary="Search members (phone digits, name, tag, tier, status)",
              roles=(STAFF, ADMIN, INTERNAL), query=mc.SearchQuery, response=mc.SearchPage, tag="members")
    def search_members(self, call, shop_id):
        """Every filter given must match; pages in a stable order (`after` = the previous `next_after`)."""
        query = {k: v for k, v in _ready(call.query).items() if v is not None}
        return self.members.call("search_members", {"shop_id": shop_id, **query})

    @endpoint("GET", MEMBER, summary="A member's profile", roles=(STAFF, ADMIN, INTERNAL), response=mc.Profile,
              tag="members")
    def get_member(self, call, shop_id, member_id):
        return self.members.call("get_member", {"shop_id": shop_id, "member_id": member_id})

    @endpoint("PATCH", MEMBER, summary="Change a member's profile (kept in their history)", roles=(STAFF, ADMIN),
              request=mc.ProfileBody, response=mc.Profile, tag="members")
    def update_member(self, call, shop_id, member_id):
        """Only the fields sent change; the phone number is not changed here."""
        return self.members.call("update_profile", {"shop_id": shop_id, "member_id": member_id,
                                                    "actor": call.principal.actor, **_ready(call.body)})

    @endpoint("GET", MEMBER + "/history", summary="A member's profile changes, newest first",
              roles=(STAFF, ADMIN), query=mc.MemberHistoryQuery, response=mc.MemberHistoryPage, tag="members")
    def member_history(self, call, shop_id, member_id):
        query = {k: v for k, v in call.query.items() if v is not None}
        return self.members.call("member_history", {"shop_id": shop_id, "member_id": member_id, **query})

    @endpoint("POST", MEMBER + "/tags", summary="Tag a member", roles=(STAFF, ADMIN), request=mc.TagsBody,
              response=mc.TagsView, tag="members")
    def add_tags(self, call, shop_id, member_id):
        """Tags are a set: adding one the member has changes nothing."""
        return self.members.call("add_tags", {"shop_id": shop_id, "member_id": member_id,
                                              "actor": call.principal.actor, "tags": call.body["tags"]})

    @endpoint("DELETE", MEMBER + "/tags/{tag}", summary="Remove a tag from a member", roles=(STAFF, ADMIN),
              response=mc.TagsView, tag="members")
    def remove_tag(self, call, shop_id, member_id, tag):
        return self.members.call("remove_tags", {"shop_id": shop_id, "member_id": member_id,
                                                 "actor": call.principal.actor, "tags": [tag]})

    @endpoint("PUT", "/shops/{shop_id}/consent-text", summary="Publish the shop's terms and privacy text",
              roles=(ADMIN,), request=mc.ConsentBody, response=mc.ConsentText, tag="members")
    def publish_consent_text(self, call, shop_id):
        """A new version becomes the one members consent to; a published version cannot be rewritten."""
        return self.members.call("publish_consent_text", {"shop_id": shop_id, **call.body})

    @endpoint("GET", "/shops/{shop_id}/consent-text", summary="The shop's current terms and privacy text",
              roles=(STAFF, ADMIN, INTERNAL), response=mc.ConsentText, tag="members")
    def get_consent_text(self, call, shop_id):
        return self.members.call("get_consent_text", {"shop_id": shop_id})

    @endpoint("GET", "/shops/{shop_id}/questions", summary="The shop's registration questions",
              roles=(STAFF, ADMIN, INTERNAL), response=mc.QuestionList, tag="members")
    def list_questions(self, call, shop_id):
        return self.members.call("list_questions", {"shop_id": shop_id})

    @endpoint("POST", "/shops/{shop_id}/questions", summary="Add a registration question", roles=(ADMIN,),
              request=mc.QuestionBody, response=mc.Question, status=201, tag="members")
    def add_question(self, call, shop_id):
        """single or multiple choice (each choice may add a tag to the member who picks it), or text."""
        return self.members.call("save_question", {"shop_id": shop_id, **_ready(call.body)})

    @endpoint("PUT", "/shops/{shop_id}/questions/{question_id}", summary="Change a registration question",
              roles=(ADMIN,), request=mc.QuestionBody, response=mc.Question, tag="members")
    def change_question(self, call, shop_id, question_id):
        return self.members.call("save_question", {"shop_id": shop_id, "question_id": question_id,
                                                   **_ready(call.body)})

    @endpoint("DELETE", "/shops/{shop_id}/questions/{question_id}", summary="Stop asking a question",
              roles=(ADMIN,), response=mc.Archived, tag="members")
    def archive_question(self, call, shop_id, question_id):
        return self.members.call("archive_question", {"shop_id": shop_id, "question_id": question_id})
