-- Member imports: the uploaded file (in parts, as it arrives from the gateway),
-- the import job with its progress and lease, and each rejected row's reason.
-- depends: 0003_tiers

-- Parts of a file on its way in: the gateway sends a large file in parts of a
-- few MB (one RPC each), then starts the import, which joins and removes them.
CREATE TABLE import_uploads (
    upload_id   UUID        NOT NULL,
    part        INTEGER     NOT NULL CHECK (part BETWEEN 0 AND 9999),
    shop_id     UUID        NOT NULL REFERENCES shops,
    data        BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (upload_id, part)
);
CREATE INDEX import_uploads_age ON import_uploads (created_at);

-- One import per file per shop: the same file again is the same import.
-- A job is queued, then running under a lease (a worker that stops holding it
-- lets another take it over), then done or failed; progress is committed with
-- each chunk of rows.
CREATE TABLE imports (
    import_id        UUID PRIMARY KEY,
    shop_id          UUID        NOT NULL REFERENCES shops,
    branch_id        UUID,
    file_sha256      TEXT        NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    filename         TEXT        CHECK (length(filename) <= 255),
    format           TEXT        NOT NULL CHECK (format IN ('csv', 'xlsx')),
    actor            JSONB       NOT NULL,
    status           TEXT        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    total            INTEGER     NOT NULL CHECK (total >= 0),
    processed        INTEGER     NOT NULL DEFAULT 0 CHECK (processed BETWEEN 0 AND total),
    imported         INTEGER     NOT NULL DEFAULT 0,
    rejected         INTEGER     NOT NULL DEFAULT 0,
    points_credited  BIGINT      NOT NULL DEFAULT 0,
    failure          TEXT,
    lease_owner      TEXT,
    lease_until      TIMESTAMPTZ,
    attempts         INTEGER     NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    UNIQUE (shop_id, file_sha256),
    FOREIGN KEY (shop_id, branch_id) REFERENCES branches (shop_id, branch_id),
    CHECK (imported + rejected = processed),
    CHECK ((status = 'done') = (finished_at IS NOT NULL AND failure IS NULL) OR status = 'failed')
);
CREATE INDEX imports_waiting ON imports (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX imports_of_shop ON imports (shop_id, created_at DESC);

CREATE TABLE import_files (
    import_id  UUID PRIMARY KEY REFERENCES imports ON DELETE CASCADE,
    data       BYTEA NOT NULL
);

-- Every rejected row, with the column and the reason (several per row possible).
CREATE TABLE import_errors (
    import_id    UUID    NOT NULL REFERENCES imports ON DELETE CASCADE,
    row_no       INTEGER NOT NULL,
    column_name  TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    PRIMARY KEY (import_id, row_no, column_name)
);
