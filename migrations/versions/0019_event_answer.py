"""event answer: an answer event keeps the value given then, as text, so the export reads
it from the event (no join to the response, which holds only the latest answer); existing
answer events get their response's current answer here, the best that is known

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 16:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# As purl.analytics.events.answer_text: one value, or the options joined by "|".
_BACKFILL = {
    'sqlite': """UPDATE event SET answer = (
        SELECT group_concat(a.value, '|')
        FROM quiz_response qr, json_each(qr.answers, '$."' || event.question_id || '"') a
        WHERE qr.profile_id = event.profile_id AND qr.quiz_slug = event.quiz_slug)
        WHERE kind = 'answer' AND profile_id IS NOT NULL AND question_id IS NOT NULL""",
    'postgresql': """UPDATE event e SET answer = CASE json_typeof(qr.answers -> e.question_id)
        WHEN 'array' THEN (SELECT string_agg(a, '|')
                           FROM json_array_elements_text(qr.answers -> e.question_id) a)
        WHEN 'null' THEN NULL
        ELSE qr.answers ->> e.question_id END
        FROM quiz_response qr
        WHERE e.kind = 'answer' AND qr.profile_id = e.profile_id
          AND qr.quiz_slug = e.quiz_slug""",
}


def backfill(conn) -> None:
    conn.execute(sa.text(_BACKFILL[conn.dialect.name]))
    # An empty multiple choice is no answer, as the events record it.
    conn.execute(sa.text("UPDATE event SET answer = NULL WHERE answer = ''"))


def upgrade():
    with op.batch_alter_table('event') as batch:
        batch.add_column(sa.Column('answer', sa.Text(), nullable=True))
    backfill(op.get_bind())


def downgrade():
    with op.batch_alter_table('event') as batch:
        batch.drop_column('answer')
