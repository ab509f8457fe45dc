-- Registration: members' personal fields and consent, the shop's consent texts,
-- registration questions and answers, tags, and the history of profile changes.
-- depends: 0001_directory_and_members

-- A member is phone_only (known from points only), registered (signed up with
-- consent), imported (brought in by the shop's import file) or erased (personal
-- fields removed at the member's request; the row and its totals stay).
ALTER TABLE members DROP CONSTRAINT members_status_check;
ALTER TABLE members ADD CONSTRAINT members_status_check
    CHECK (status IN ('phone_only', 'registered', 'imported', 'erased'));

ALTER TABLE members
    ADD COLUMN name             TEXT CHECK (length(name) BETWEEN 1 AND 200),
    ADD COLUMN gender           TEXT CHECK (gender IN ('female', 'male', 'other', 'unspecified')),
    ADD COLUMN birthday         DATE,
    ADD COLUMN email            TEXT CHECK (length(email) <= 254),
    ADD COLUMN address          TEXT CHECK (length(address) <= 1000),
    ADD COLUMN line_user_id     TEXT CHECK (line_user_id ~ '^U[0-9a-f]{32}$'),
    ADD COLUMN consent_version  TEXT,
    ADD COLUMN consented_at     TIMESTAMPTZ,
    ADD COLUMN registered_at    TIMESTAMPTZ,
    ADD COLUMN registered_via   TEXT CHECK (registered_via IN ('member', 'staff', 'admin', 'import')),
    ADD COLUMN erased_at        TIMESTAMPTZ,
    -- a registered member has consented (an imported one: the shop vouches for it in the file)
    ADD CONSTRAINT registered_with_consent
        CHECK (status <> 'registered' OR (consent_version IS NOT NULL AND consented_at IS NOT NULL));

CREATE UNIQUE INDEX members_line_user ON members (shop_id, line_user_id) WHERE line_user_id IS NOT NULL;
CREATE INDEX members_name ON members (shop_id, lower(name) text_pattern_ops) WHERE name IS NOT NULL;
-- staff search by the last digits of a phone
CREATE INDEX members_phone_suffix ON members (shop_id, reverse(phone) text_pattern_ops);
-- keyset pages of a shop's members (search, export)
CREATE INDEX members_shop_page ON members (shop_id, member_id);

-- The shop's terms and privacy texts, versioned: a member consents to one version.
CREATE TABLE consent_texts (
    shop_id     UUID        NOT NULL REFERENCES shops,
    version     TEXT        NOT NULL CHECK (length(version) BETWEEN 1 AND 50),
    terms       TEXT        NOT NULL CHECK (length(terms) BETWEEN 1 AND 100000),
    privacy     TEXT        NOT NULL CHECK (length(privacy) BETWEEN 1 AND 100000),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, version)
);

ALTER TABLE shops
    ADD COLUMN consent_version        TEXT,
    -- registration answers are deleted this many days after they were given (NULL: kept)
    ADD COLUMN answer_retention_days  INTEGER CHECK (answer_retention_days BETWEEN 1 AND 3650),
    ADD COLUMN cancelled_at           TIMESTAMPTZ,
    ADD CONSTRAINT shop_consent FOREIGN KEY (shop_id, consent_version) REFERENCES consent_texts (shop_id, version)
        DEFERRABLE INITIALLY DEFERRED;

-- Registration questions of a shop: single choice, multiple choice or text. A
-- choice is {"value", "label", "tag"}: answering it tags the member.
CREATE TABLE questions (
    question_id  UUID PRIMARY KEY,
    shop_id      UUID        NOT NULL REFERENCES shops,
    position     INTEGER     NOT NULL,
    kind         TEXT        NOT NULL CHECK (kind IN ('single', 'multiple', 'text')),
    prompt       TEXT        NOT NULL CHECK (length(prompt) BETWEEN 1 AND 500),
    choices      JSONB       NOT NULL DEFAULT '[]',
    required     BOOLEAN     NOT NULL DEFAULT false,
    archived_at  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX questions_shop ON questions (shop_id, position);

CREATE TABLE answers (
    member_id    UUID        NOT NULL REFERENCES members ON DELETE CASCADE,
    question_id  UUID        NOT NULL REFERENCES questions,
    shop_id      UUID        NOT NULL,
    answer       JSONB       NOT NULL,
    answered_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, question_id)
);
CREATE INDEX answers_retention ON answers (shop_id, answered_at);

CREATE TABLE member_tags (
    member_id  UUID        NOT NULL REFERENCES members ON DELETE CASCADE,
    shop_id    UUID        NOT NULL,
    tag        TEXT        NOT NULL CHECK (tag ~ '^[^,\s][^,]{0,48}[^,\s]$|^[^,\s]$'),
    added_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    added_by   JSONB       NOT NULL,
    PRIMARY KEY (member_id, tag)
);
CREATE INDEX member_tags_by_tag ON member_tags (shop_id, tag);

-- Every change of a member's profile: who, when, and each field's old and new value.
CREATE TABLE member_changes (
    change_id   BIGSERIAL PRIMARY KEY,
    member_id   UUID        NOT NULL REFERENCES members ON DELETE CASCADE,
    shop_id     UUID        NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor       JSONB       NOT NULL,
    kind        TEXT        NOT NULL CHECK (kind IN ('registered', 'updated', 'tagged', 'untagged', 'erased')),
    changes     JSONB       NOT NULL
);
CREATE INDEX member_changes_member ON member_changes (member_id, change_id);
