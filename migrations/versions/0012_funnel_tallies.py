"""funnel and quiz tallies, kept as events are recorded, backfilled from the events

The console counted distinct recipients over every event of a campaign on each page view
(98 s for a funnel at a million recipients). Recording an event now also marks the first
time a recipient (a profile, for the quiz) reaches a step and bumps a per-campaign tally; the
console reads the tallies. This migration creates them and fills them from the events
recorded so far, in SQL. Answers given before it are counted under the quiz version their
response holds now (events never carried the version per answer's value).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _bytewise(length):
    return sa.String(length).with_variant(sa.String(length, collation='C'), 'postgresql')


_FUNNEL = "('visit', 'quiz_start', 'quiz_complete', 'product_click')"
_QUIZ = "('quiz_start', 'answer', 'quiz_complete')"


def upgrade():
    op.create_table('funnel_reach',
    sa.Column('recipient_id', _BIG_ID, nullable=False),
    sa.Column('kind', _bytewise(32), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('recipient_id', 'kind', 'product_id'),
    )
    op.create_table('funnel_tally',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', _bytewise(32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', _bytewise(16), nullable=False),
    sa.Column('variant', sa.String(length=32), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'kind', 'day', 'channel', 'variant'),
    )
    op.create_table('product_tally',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('clicks', sa.BigInteger(), nullable=False),
    sa.Column('shoppers', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'product_id'),
    )
    op.create_table('quiz_progress',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', _BIG_ID, nullable=False),
    sa.Column('quiz_slug', sa.String(length=64), nullable=False),
    sa.Column('started', sa.Boolean(), nullable=False),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('last_question', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'profile_id', 'quiz_slug'),
    )
    op.create_table('quiz_answered',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', _BIG_ID, nullable=False),
    sa.Column('quiz_slug', sa.String(length=64), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'profile_id', 'quiz_slug', 'question_id'),
    )
    op.create_table('quiz_choice',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', _BIG_ID, nullable=False),
    sa.Column('quiz_slug', sa.String(length=64), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=False),
    sa.Column('option', sa.String(length=200), nullable=False),
    sa.Column('quiz_version', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'profile_id', 'quiz_slug', 'question_id', 'option'),
    )
    op.create_table('quiz_tally',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('quiz_slug', sa.String(length=64), nullable=False),
    sa.Column('measure', _bytewise(16), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=False),
    sa.Column('option', sa.String(length=200), nullable=False),
    sa.Column('quiz_version', sa.String(length=64), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'quiz_slug', 'measure', 'question_id', 'option',
                            'quiz_version'),
    )
    backfill(op.get_bind())


def backfill(conn):
    """Fill the tallies from the events already recorded (the tables start empty)."""
    postgres = conn.dialect.name == 'postgresql'
    day = "CAST(timezone('UTC', f.first) AS date)" if postgres else "date(f.first)"
    for sql in (
        f"""INSERT INTO funnel_reach (recipient_id, kind, product_id)
        SELECT DISTINCT e.recipient_id, e.kind, 0 FROM event e
        JOIN recipient r ON r.id = e.recipient_id
        WHERE e.kind IN {_FUNNEL} AND NOT e.is_seed AND NOT r.is_seed
        UNION ALL
        SELECT DISTINCT e.recipient_id, e.kind, e.product_id FROM event e
        JOIN recipient r ON r.id = e.recipient_id
        WHERE e.kind = 'product_click' AND e.product_id IS NOT NULL
          AND NOT e.is_seed AND NOT r.is_seed""",
        f"""INSERT INTO funnel_tally (campaign_id, kind, day, channel, variant, count)
        SELECT r.campaign_id, f.kind, {day}, coalesce(r.channel, ''), coalesce(r.variant, ''),
               count(*)
        FROM (SELECT e.recipient_id, e.kind, min(e.created_at) AS first FROM event e
              WHERE e.kind IN {_FUNNEL} AND NOT e.is_seed AND e.recipient_id IS NOT NULL
              GROUP BY e.recipient_id, e.kind) f
        JOIN recipient r ON r.id = f.recipient_id
        WHERE NOT r.is_seed
        GROUP BY r.campaign_id, f.kind, {day}, coalesce(r.channel, ''), coalesce(r.variant, '')""",
        """INSERT INTO product_tally (campaign_id, product_id, clicks, shoppers)
        SELECT r.campaign_id, e.product_id, count(*), count(DISTINCT e.recipient_id)
        FROM event e JOIN recipient r ON r.id = e.recipient_id
        WHERE e.kind = 'product_click' AND e.product_id IS NOT NULL
          AND NOT e.is_seed AND NOT r.is_seed
        GROUP BY r.campaign_id, e.product_id""",
        f"""INSERT INTO quiz_progress (campaign_id, profile_id, quiz_slug, started, completed,
                                      last_question)
        SELECT coalesce(campaign_id, 0), profile_id, coalesce(quiz_slug, ''),
               max(CASE WHEN kind = 'quiz_start' THEN 1 ELSE 0 END) = 1,
               max(CASE WHEN kind = 'quiz_complete' THEN 1 ELSE 0 END) = 1, ''
        FROM event WHERE profile_id IS NOT NULL AND NOT is_seed AND kind IN {_QUIZ}
        GROUP BY coalesce(campaign_id, 0), profile_id, coalesce(quiz_slug, '')""",
        """UPDATE quiz_progress SET last_question = coalesce((
            SELECT e.question_id FROM event e WHERE e.id = (
                SELECT max(a.id) FROM event a
                WHERE a.profile_id = quiz_progress.profile_id AND a.kind = 'answer'
                  AND NOT a.is_seed AND coalesce(a.campaign_id, 0) = quiz_progress.campaign_id
                  AND coalesce(a.quiz_slug, '') = quiz_progress.quiz_slug)), '')""",
        """INSERT INTO quiz_answered (campaign_id, profile_id, quiz_slug, question_id)
        SELECT DISTINCT coalesce(campaign_id, 0), profile_id, coalesce(quiz_slug, ''),
               coalesce(question_id, '')
        FROM event WHERE kind = 'answer' AND profile_id IS NOT NULL AND NOT is_seed""",
        ("""INSERT INTO quiz_choice (campaign_id, profile_id, quiz_slug, question_id, option,
                                    quiz_version)
        SELECT DISTINCT a.campaign_id, a.profile_id, a.quiz_slug, a.question_id,
               left(v, 200), qr.quiz_version
        FROM quiz_answered a
        JOIN quiz_response qr ON qr.profile_id = a.profile_id AND qr.quiz_slug = a.quiz_slug
        CROSS JOIN LATERAL json_array_elements_text(
            CASE json_typeof(qr.answers -> a.question_id)
            WHEN 'array' THEN qr.answers -> a.question_id
            ELSE json_build_array(qr.answers ->> a.question_id) END) AS v
        WHERE v IS NOT NULL AND v <> ''""" if postgres else
         """INSERT INTO quiz_choice (campaign_id, profile_id, quiz_slug, question_id, option,
                                    quiz_version)
        SELECT DISTINCT a.campaign_id, a.profile_id, a.quiz_slug, a.question_id,
               substr(CAST(j.value AS TEXT), 1, 200), qr.quiz_version
        FROM quiz_answered a
        JOIN quiz_response qr ON qr.profile_id = a.profile_id AND qr.quiz_slug = a.quiz_slug
        JOIN json_each(qr.answers, '$."' || a.question_id || '"') j
        WHERE j.value IS NOT NULL AND CAST(j.value AS TEXT) <> ''"""),
        """INSERT INTO quiz_tally (campaign_id, quiz_slug, measure, question_id, option,
                                  quiz_version, count)
        SELECT campaign_id, quiz_slug, 'started', '', '', '', count(*) FROM quiz_progress
        WHERE started GROUP BY campaign_id, quiz_slug
        UNION ALL
        SELECT campaign_id, quiz_slug, 'completed', '', '', '', count(*) FROM quiz_progress
        WHERE completed GROUP BY campaign_id, quiz_slug
        UNION ALL
        SELECT campaign_id, quiz_slug, 'stopped', last_question, '', '', count(*)
        FROM quiz_progress WHERE NOT completed AND (started OR last_question <> '')
        GROUP BY campaign_id, quiz_slug, last_question
        UNION ALL
        SELECT campaign_id, quiz_slug, 'answered', question_id, '', '', count(*)
        FROM quiz_answered GROUP BY campaign_id, quiz_slug, question_id
        UNION ALL
        SELECT campaign_id, quiz_slug, 'chosen', question_id, option, quiz_version, count(*)
        FROM quiz_choice GROUP BY campaign_id, quiz_slug, question_id, option, quiz_version""",
    ):
        conn.execute(sa.text(sql))


def downgrade():
    for table in ('quiz_tally', 'quiz_choice', 'quiz_answered', 'quiz_progress',
                  'product_tally', 'funnel_tally', 'funnel_reach'):
        op.drop_table(table)
