"""the search index takes in a new message only when it is on a case

Search only ever shows messages on a case (`desk/search.py`), and a message that gets its case
later is indexed then, by the update trigger (it fires on `case_id`). The SMTP intake stores
raw mail with no case, so indexing it at once (its sender, nothing else) was work no search
could show, done in the intake's write before every 250 and undone by the worker a moment
later: about 100 µs a message on SQLite.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQLITE_INSERT = """CREATE TRIGGER search_fts_message_insert AFTER INSERT ON message {when}BEGIN
         INSERT INTO search_fts (rowid, document) SELECT id, document FROM search_source WHERE id = new.id;
       END"""

POSTGRES_UPDATE = """CREATE TRIGGER search_doc_message AFTER {events} ON message
       FOR EACH ROW {when}EXECUTE FUNCTION search_doc_on_message()"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER search_doc_message ON message")
        op.execute(POSTGRES_UPDATE.format(events="UPDATE OF subject, text, sender, contact_id, case_id", when=""))
        op.execute("""CREATE TRIGGER search_doc_message_insert AFTER INSERT ON message
                      FOR EACH ROW WHEN (NEW.case_id IS NOT NULL) EXECUTE FUNCTION search_doc_on_message()""")
    else:
        op.execute("DROP TRIGGER search_fts_message_insert")
        op.execute(SQLITE_INSERT.format(when="WHEN new.case_id IS NOT NULL "))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER search_doc_message_insert ON message")
        op.execute("DROP TRIGGER search_doc_message ON message")
        op.execute(POSTGRES_UPDATE.format(events="INSERT OR UPDATE OF subject, text, sender, contact_id, case_id", when=""))
    else:
        op.execute("DROP TRIGGER search_fts_message_insert")
        op.execute(SQLITE_INSERT.format(when=""))
