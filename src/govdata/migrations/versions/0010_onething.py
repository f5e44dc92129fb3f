"""onething: one-thing service packages (versions), cases, their matters' tasks and events, citizens' demo
sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 01:08:43.906660
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govdata.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('onething_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('package_key', sa.String(length=40), nullable=False),
    sa.Column('package_version', sa.Integer(), nullable=False),
    sa.Column('applicant_id_number', sa.String(length=18), nullable=False),
    sa.Column('applicant_name', sa.String(length=50), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('acting_for', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('workflow', sa.Text(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('consented_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onething_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_onething_cases_number'))
    )
    with op.batch_alter_table('onething_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onething_cases_applicant_id_number'), ['applicant_id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_onething_cases_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_onething_cases_package_key'), ['package_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_onething_cases_status'), ['status'], unique=False)

    op.create_table('onething_citizen_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onething_citizen_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_onething_citizen_sessions_token_hash'))
    )
    op.create_table('onething_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onething_events'))
    )
    with op.batch_alter_table('onething_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onething_events_case_id'), ['case_id'], unique=False)

    op.create_table('onething_packages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('bpmn', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onething_packages')),
    sa.UniqueConstraint('key', 'version', name='uq_onething_package_version')
    )
    with op.batch_alter_table('onething_packages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onething_packages_key'), ['key'], unique=False)

    op.create_table('onething_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('matter', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('org_code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('outputs', sa.JSON(), nullable=False),
    sa.Column('proposals', sa.JSON(), nullable=False),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('paper', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('info_request', sa.Text(), nullable=True),
    sa.Column('started_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('waiting_seconds', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onething_tasks'))
    )
    with op.batch_alter_table('onething_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onething_tasks_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_onething_tasks_queue', ['org_code', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('onething_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_onething_tasks_queue')
        batch_op.drop_index(batch_op.f('ix_onething_tasks_case_id'))

    op.drop_table('onething_tasks')
    with op.batch_alter_table('onething_packages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onething_packages_key'))

    op.drop_table('onething_packages')
    with op.batch_alter_table('onething_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onething_events_case_id'))

    op.drop_table('onething_events')
    op.drop_table('onething_citizen_sessions')
    with op.batch_alter_table('onething_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onething_cases_status'))
        batch_op.drop_index(batch_op.f('ix_onething_cases_package_key'))
        batch_op.drop_index(batch_op.f('ix_onething_cases_created_at'))
        batch_op.drop_index(batch_op.f('ix_onething_cases_applicant_id_number'))

    op.drop_table('onething_cases')
