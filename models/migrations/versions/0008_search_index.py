"""the search index: every message's text, with its sender, contact's name and addresses and
its case's reference, in SQLite FTS5 or a GIN-indexed PostgreSQL tsvector, kept current by triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# One document per message, built the same way on both databases (a view, so the triggers and
# the first fill cannot disagree). Addresses and references are split into their parts by the
# tokenisers, which is what makes "olga@" and "00042" findable.
SEPARATORS = "@.-_+/:#<>&"  # what PostgreSQL's parser would otherwise read as part of a word, address or tag

SQLITE_SOURCE = """
CREATE VIEW search_source AS
SELECT m.id AS id, m.contact_id AS contact_id,
       m.subject || ' ' || m.text || ' ' || m.sender || ' ' || coalesce(p.display_name, '') || ' '
       || coalesce((SELECT group_concat(i.address, ' ') FROM channelidentity i WHERE i.contact_id = m.contact_id), '')
       || ' ' || coalesce(c.reference, '') AS document
FROM message m LEFT JOIN contact p ON p.id = m.contact_id LEFT JOIN "case" c ON c.id = m.case_id
"""

SQLITE = [
    SQLITE_SOURCE,
    # unicode61: letters and digits are words, everything else (@ . - + :) separates them.
    "CREATE VIRTUAL TABLE search_fts USING fts5(document, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
    "INSERT INTO search_fts (rowid, document) SELECT id, document FROM search_source",
    """CREATE TRIGGER search_fts_message_insert AFTER INSERT ON message BEGIN
         INSERT INTO search_fts (rowid, document) SELECT id, document FROM search_source WHERE id = new.id;
       END""",
    """CREATE TRIGGER search_fts_message_update AFTER UPDATE OF subject, text, sender, contact_id, case_id ON message BEGIN
         DELETE FROM search_fts WHERE rowid = old.id;
         INSERT INTO search_fts (rowid, document) SELECT id, document FROM search_source WHERE id = new.id;
       END""",
    """CREATE TRIGGER search_fts_message_delete AFTER DELETE ON message BEGIN
         DELETE FROM search_fts WHERE rowid = old.id;
       END""",
    """CREATE TRIGGER search_fts_contact_update AFTER UPDATE OF display_name ON contact BEGIN
         DELETE FROM search_fts WHERE rowid IN (SELECT id FROM message WHERE contact_id = new.id);
         INSERT INTO search_fts (rowid, document) SELECT id, document FROM search_source WHERE contact_id = new.id;
       END""",
    *[f"""CREATE TRIGGER search_fts_identity_{event.split()[0].lower()} AFTER {event} ON channelidentity BEGIN
         DELETE FROM search_fts WHERE rowid IN (SELECT id FROM message WHERE contact_id = {row}.contact_id);
         INSERT INTO search_fts (rowid, document) SELECT id, document FROM search_source WHERE contact_id = {row}.contact_id;
       END""" for event, row in [("INSERT", "new"), ("UPDATE OF address, contact_id", "new"), ("DELETE", "old")]],
]

SQLITE_DOWN = [
    *[f"DROP TRIGGER IF EXISTS search_fts_{name}" for name in
      ("message_insert", "message_update", "message_delete", "contact_update", "identity_insert", "identity_update", "identity_delete")],
    "DROP TABLE IF EXISTS search_fts",
    "DROP VIEW IF EXISTS search_source",
]

POSTGRES = [
    SQLITE_SOURCE.replace("group_concat(i.address, ' ')", "string_agg(i.address, ' ')"),
    """CREATE TABLE search_doc (
         message_id integer PRIMARY KEY REFERENCES message (id) ON DELETE CASCADE,
         document tsvector NOT NULL)""",
    "CREATE INDEX search_doc_document ON search_doc USING gin (document)",
    # 'simple': no stemming and no stop words, as on SQLite. The parser keeps an address or a
    # reference whole, and reads "<" as the start of an XML tag (swallowing the words after
    # it), so those characters become spaces first; the text is capped well inside a
    # tsvector's 1 MB.
    f"""CREATE FUNCTION search_doc_vector(document text) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
         SELECT to_tsvector('simple', translate(left(document, 100000), '{SEPARATORS}', '{" " * len(SEPARATORS)}'))
       $$""",
    """CREATE FUNCTION search_doc_refresh(p_message integer, p_contact integer) RETURNS void LANGUAGE plpgsql AS $$
       BEGIN
         IF p_message IS NOT NULL THEN
           INSERT INTO search_doc (message_id, document)
             SELECT id, search_doc_vector(document) FROM search_source WHERE id = p_message
             ON CONFLICT (message_id) DO UPDATE SET document = excluded.document;
         END IF;
         IF p_contact IS NOT NULL THEN
           INSERT INTO search_doc (message_id, document)
             SELECT id, search_doc_vector(document) FROM search_source WHERE contact_id = p_contact
             ON CONFLICT (message_id) DO UPDATE SET document = excluded.document;
         END IF;
       END $$""",
    """CREATE FUNCTION search_doc_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM search_doc_refresh(NEW.id, NULL); RETURN NULL; END $$""",
    """CREATE FUNCTION search_doc_on_contact() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN PERFORM search_doc_refresh(NULL, OLD.contact_id);
         ELSIF TG_TABLE_NAME = 'contact' THEN PERFORM search_doc_refresh(NULL, NEW.id);
         ELSE PERFORM search_doc_refresh(NULL, NEW.contact_id);
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER search_doc_message AFTER INSERT OR UPDATE OF subject, text, sender, contact_id, case_id ON message
       FOR EACH ROW EXECUTE FUNCTION search_doc_on_message()""",
    """CREATE TRIGGER search_doc_contact AFTER UPDATE OF display_name ON contact
       FOR EACH ROW EXECUTE FUNCTION search_doc_on_contact()""",
    """CREATE TRIGGER search_doc_identity AFTER INSERT OR UPDATE OR DELETE ON channelidentity
       FOR EACH ROW EXECUTE FUNCTION search_doc_on_contact()""",
    "INSERT INTO search_doc (message_id, document) SELECT id, search_doc_vector(document) FROM search_source",
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS search_doc_identity ON channelidentity",
    "DROP TRIGGER IF EXISTS search_doc_contact ON contact",
    "DROP TRIGGER IF EXISTS search_doc_message ON message",
    "DROP FUNCTION IF EXISTS search_doc_on_contact()",
    "DROP FUNCTION IF EXISTS search_doc_on_message()",
    "DROP FUNCTION IF EXISTS search_doc_refresh(integer, integer)",
    "DROP TABLE IF EXISTS search_doc",
    "DROP FUNCTION IF EXISTS search_doc_vector(text)",
    "DROP VIEW IF EXISTS search_source",
]


def upgrade() -> None:
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    for statement in POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
