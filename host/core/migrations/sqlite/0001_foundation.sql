-- Foundation schema for SQLite: ticket core, auth, job queue.
-- Timestamps are microseconds since the Unix epoch (BIGINT); booleans are 0/1.

CREATE TABLE queues (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    comment     TEXT NOT NULL DEFAULT '',
    valid       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);

CREATE TABLE states (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    state_type  TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    valid       INTEGER NOT NULL DEFAULT 1,
    next_state_id BIGINT REFERENCES states(id),
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);

CREATE TABLE priorities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    comment     TEXT NOT NULL DEFAULT '',
    valid       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);

CREATE TABLE ticket_types (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    comment     TEXT NOT NULL DEFAULT '',
    valid       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);

CREATE TABLE agents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    login       TEXT NOT NULL UNIQUE,
    first_name  TEXT NOT NULL DEFAULT '',
    last_name   TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    valid       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);

CREATE TABLE agent_queue_permissions (
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    queue_id    BIGINT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    permission  TEXT NOT NULL,
    PRIMARY KEY (agent_id, queue_id)
);

CREATE TABLE customer_companies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    street      TEXT NOT NULL DEFAULT '',
    city        TEXT NOT NULL DEFAULT '',
    country     TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    comment     TEXT NOT NULL DEFAULT '',
    valid       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);

CREATE TABLE customer_users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    login       TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    first_name  TEXT NOT NULL DEFAULT '',
    last_name   TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL DEFAULT '',
    customer_company_id BIGINT REFERENCES customer_companies(id),
    valid       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    role        TEXT NOT NULL,
    agent_id    BIGINT REFERENCES agents(id) ON DELETE CASCADE,
    customer_user_id BIGINT REFERENCES customer_users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE dynamic_fields (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL DEFAULT '',
    object_type TEXT NOT NULL,
    field_type  TEXT NOT NULL,
    config      TEXT NOT NULL DEFAULT '{}',
    valid       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);

CREATE TABLE ticket_counters (
    day         TEXT PRIMARY KEY,
    counter     BIGINT NOT NULL
);

CREATE TABLE tickets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    number      TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    queue_id    BIGINT NOT NULL REFERENCES queues(id),
    state_id    BIGINT NOT NULL REFERENCES states(id),
    priority_id BIGINT NOT NULL REFERENCES priorities(id),
    type_id     BIGINT NOT NULL REFERENCES ticket_types(id),
    owner_id    BIGINT REFERENCES agents(id),
    responsible_id BIGINT REFERENCES agents(id),
    customer_user TEXT,
    customer_company TEXT,
    pending_until BIGINT,
    merged_into BIGINT REFERENCES tickets(id),
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);
CREATE INDEX tickets_queue_state ON tickets(queue_id, state_id, id);
CREATE INDEX tickets_state ON tickets(state_id, id);
CREATE INDEX tickets_owner ON tickets(owner_id, id);
CREATE INDEX tickets_customer_user ON tickets(customer_user, id);
CREATE INDEX tickets_customer_company ON tickets(customer_company, id);
CREATE INDEX tickets_created ON tickets(created_at, id);
CREATE INDEX tickets_changed ON tickets(changed_at, id);

CREATE TABLE articles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    channel     TEXT NOT NULL,
    sender_type TEXT NOT NULL,
    visible_for_customer INTEGER NOT NULL,
    from_addr   TEXT NOT NULL DEFAULT '',
    to_addr     TEXT NOT NULL DEFAULT '',
    cc_addr     TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    body_html   TEXT,
    message_id  TEXT,
    in_reply_to TEXT,
    references_header TEXT,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX articles_ticket ON articles(ticket_id, id);
CREATE INDEX articles_message_id ON articles(message_id);

CREATE TABLE attachment_contents (
    sha256      TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    content     BLOB NOT NULL
);

CREATE TABLE article_attachments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id  BIGINT NOT NULL REFERENCES articles(id),
    filename    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES attachment_contents(sha256)
);
CREATE INDEX article_attachments_article ON article_attachments(article_id);

CREATE TABLE dynamic_field_values (
    field_id    BIGINT NOT NULL REFERENCES dynamic_fields(id) ON DELETE CASCADE,
    object_id   BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    value_text  TEXT NOT NULL,
    PRIMARY KEY (field_id, object_id, position)
);
CREATE INDEX dynamic_field_values_lookup ON dynamic_field_values(field_id, value_text, object_id);
CREATE INDEX dynamic_field_values_object ON dynamic_field_values(object_id);

CREATE TABLE ticket_links (
    source_id   BIGINT NOT NULL REFERENCES tickets(id),
    target_id   BIGINT NOT NULL REFERENCES tickets(id),
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (source_id, target_id, kind)
);
CREATE INDEX ticket_links_target ON ticket_links(target_id);

CREATE TABLE ticket_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    event       TEXT NOT NULL,
    field       TEXT,
    old_value   TEXT,
    new_value   TEXT,
    actor       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX ticket_history_ticket ON ticket_history(ticket_id, id);

CREATE TABLE idempotency_keys (
    token_id    BIGINT NOT NULL,
    key         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (token_id, key)
);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at      BIGINT NOT NULL,
    locked_by   TEXT,
    locked_until BIGINT,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);

-- Full-text search: one row per ticket, rowid = ticket id.
-- `public_body` holds only customer-visible articles, so customers' searches never match internal notes.
CREATE VIRTUAL TABLE ticket_search USING fts5(title, body, public_body, tokenize = 'unicode61 remove_diacritics 2');
