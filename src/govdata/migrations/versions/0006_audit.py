"""audit trail: records, signed checkpoints, chain head (issue 5)

JSON fields are TEXT holding the canonical JSON that was hashed (govdata.audit.models.CanonicalJSON); the
one audit_head row is created by the first append.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 20:42:54.379643
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govdata.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('first_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('merkle_root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('prev_root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('last_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('algorithm', sa.String(length=8), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('signature_alg', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archive', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('first_id', name=op.f('uq_audit_checkpoints_first_id')),
    sa.UniqueConstraint('last_id', name=op.f('uq_audit_checkpoints_last_id'))
    )
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('sealed_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sealed_root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('archived_through', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('alg', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('consumer_org', sa.String(length=40), nullable=True),
    sa.Column('consumer_system', sa.String(length=100), nullable=True),
    sa.Column('consumer_person', sa.String(length=100), nullable=True),
    sa.Column('provider_org', sa.String(length=40), nullable=True),
    sa.Column('resource', sa.String(length=40), nullable=True),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('response_hash', sa.String(length=128), nullable=True),
    sa.Column('extra', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('mac', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records')),
    sa.UniqueConstraint('request_id', name=op.f('uq_audit_records_request_id'))
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_records_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_records_consumer_org_id', ['consumer_org', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_records_kind'), ['kind'], unique=False)
        batch_op.create_index('ix_audit_records_provider_org_id', ['provider_org', 'id'], unique=False)
        batch_op.create_index('ix_audit_records_resource_id', ['resource', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_resource_id')
        batch_op.drop_index('ix_audit_records_provider_org_id')
        batch_op.drop_index(batch_op.f('ix_audit_records_kind'))
        batch_op.drop_index('ix_audit_records_consumer_org_id')
        batch_op.drop_index(batch_op.f('ix_audit_records_at'))

    op.drop_table('audit_records')
    op.drop_table('audit_head')
    op.drop_table('audit_checkpoints')
