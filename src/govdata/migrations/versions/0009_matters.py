"""matters: the register of government service matters (政务服务事项清单) with the dates each became
applicable online (网上可办) and handled fully online (全程网办)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 01:02:24.879578
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govdata.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('matters_service_matters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('org_code', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('online_since', sa.Date(), nullable=True),
    sa.Column('fully_online_since', sa.Date(), nullable=True),
    sa.Column('exempt', sa.Boolean(), nullable=False),
    sa.Column('trips_required', sa.Integer(), nullable=False),
    sa.Column('promised_days', sa.Integer(), nullable=False),
    sa.Column('package_key', sa.String(length=40), nullable=True),
    sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matters_service_matters')),
    sa.UniqueConstraint('code', name=op.f('uq_matters_service_matters_code'))
    )
    with op.batch_alter_table('matters_service_matters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matters_service_matters_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_matters_service_matters_org_code'), ['org_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_matters_service_matters_package_key'), ['package_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_matters_service_matters_region_code'), ['region_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('matters_service_matters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matters_service_matters_region_code'))
        batch_op.drop_index(batch_op.f('ix_matters_service_matters_package_key'))
        batch_op.drop_index(batch_op.f('ix_matters_service_matters_org_code'))
        batch_op.drop_index(batch_op.f('ix_matters_service_matters_level'))

    op.drop_table('matters_service_matters')
