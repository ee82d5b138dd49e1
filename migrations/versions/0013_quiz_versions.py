"""quiz versions: quizzes, their drafts and published versions, and campaign pins

Quizzes were YAML files served as they were saved. They now live in the database as versions;
each file in the quiz folder becomes version 1 of its quiz, published, under the hash answers
and events already carry as ``quiz_version`` (a hash of the file's text), so stored answers
keep pointing at the questions they were given to.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:00:00

"""
import datetime as dt
import hashlib
import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _quiz_folder() -> Path:
    try:
        from flask import current_app

        return Path(current_app.config["QUIZ_FOLDER"])
    except (ImportError, RuntimeError, KeyError):
        return Path(__file__).resolve().parents[2] / "quizzes"


def _shipped_quizzes() -> list[tuple[str, dict, str, str]]:
    """(slug, title, text, hash) of every valid file, the first file of a slug winning as it
    did when files were served."""
    from purl.quiz.format import QuizError, parse_quiz

    found: dict[str, tuple[str, dict, str, str]] = {}
    for path in sorted(_quiz_folder().glob("*.y*ml")):
        content = path.read_text(encoding="utf-8")
        try:
            quiz = parse_quiz(content, path.name)
        except QuizError as exc:  # never served, so no answer points at it
            log.warning("quiz file not stored: %s", exc)
            continue
        # The hash exactly as answers were given it (purl.quiz.format.parse_quiz).
        version = hashlib.sha256(content.encode()).hexdigest()[:12]
        found.setdefault(quiz.slug, (quiz.slug, dict(quiz.title), content, version))
    return list(found.values())


def upgrade():
    op.create_table('quiz',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz')),
    sa.UniqueConstraint('slug', name=op.f('uq_quiz_slug'))
    )
    op.create_table('quiz_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64).with_variant(
        sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['quiz_id'], ['quiz.id'], name=op.f('fk_quiz_version_quiz_id_quiz')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_version')),
    sa.UniqueConstraint('quiz_id', 'number', name='uq_quiz_version_number'),
    sa.UniqueConstraint('quiz_id', 'content_hash', name='uq_quiz_version_content')
    )
    op.create_index(op.f('ix_quiz_version_content_hash'), 'quiz_version', ['content_hash'])
    op.create_table('quiz_publication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['quiz_id'], ['quiz.id'],
                            name=op.f('fk_quiz_publication_quiz_id_quiz')),
    sa.ForeignKeyConstraint(['version_id'], ['quiz_version.id'],
                            name=op.f('fk_quiz_publication_version_id_quiz_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_publication'))
    )
    op.create_index(op.f('ix_quiz_publication_quiz_id'), 'quiz_publication', ['quiz_id'])
    with op.batch_alter_table('campaign') as batch_op:
        batch_op.add_column(sa.Column('pinned_quiz_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_campaign_pinned_quiz_version_id_quiz_version',
                                    'quiz_version', ['pinned_quiz_version_id'], ['id'])

    stamp = sa.DateTime(timezone=True)
    quizzes = sa.table('quiz', sa.column('id', sa.Integer), sa.column('slug', sa.String),
                       sa.column('title', sa.JSON), sa.column('created_at', stamp))
    versions = sa.table(
        'quiz_version', sa.column('id', sa.Integer), sa.column('quiz_id', sa.Integer),
        sa.column('number', sa.Integer), sa.column('content', sa.Text),
        sa.column('content_hash', sa.String), sa.column('source', sa.String),
        sa.column('created_at', stamp), sa.column('published_at', stamp))
    publications = sa.table(
        'quiz_publication', sa.column('quiz_id', sa.Integer),
        sa.column('version_id', sa.Integer), sa.column('published_at', stamp))
    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    for slug, title, content, version in _shipped_quizzes():
        quiz_id = conn.execute(quizzes.insert().values(
            slug=slug, title=title, created_at=now).returning(quizzes.c.id)).scalar_one()
        version_id = conn.execute(versions.insert().values(
            quiz_id=quiz_id, number=1, content=content, content_hash=version,
            source="migration", created_at=now, published_at=now,
        ).returning(versions.c.id)).scalar_one()
        conn.execute(publications.insert().values(quiz_id=quiz_id, version_id=version_id,
                                                  published_at=now))
        log.info("quiz %s stored as version 1 (%s)", slug, version)


def downgrade():
    with op.batch_alter_table('campaign') as batch_op:
        batch_op.drop_constraint('fk_campaign_pinned_quiz_version_id_quiz_version',
                                 type_='foreignkey')
        batch_op.drop_column('pinned_quiz_version_id')
    op.drop_index(op.f('ix_quiz_publication_quiz_id'), table_name='quiz_publication')
    op.drop_table('quiz_publication')
    op.drop_index(op.f('ix_quiz_version_content_hash'), table_name='quiz_version')
    op.drop_table('quiz_version')
    op.drop_table('quiz')
