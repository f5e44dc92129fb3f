"""exchange: masking rules (脱敏规则), seeded with the platform's defaults (issue 5)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govdata.db
from govdata.exchange.models import default_rule_rows

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    masking_rules = op.create_table(
        'masking_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('match_keys', sa.JSON(), nullable=False),
        sa.Column('match_elements', sa.JSON(), nullable=False),
        sa.Column('match_names', sa.JSON(), nullable=False),
        sa.Column('keep_start', sa.Integer(), nullable=False),
        sa.Column('keep_end', sa.Integer(), nullable=False),
        sa.Column('mask_char', sa.String(length=4), nullable=False),
        sa.Column('fixed_mask', sa.Boolean(), nullable=False),
        sa.Column('mask_length', sa.Integer(), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_masking_rules')),
        sa.UniqueConstraint('name', name=op.f('uq_masking_rules_name')),
    )
    op.bulk_insert(masking_rules, default_rule_rows())


def downgrade() -> None:
    op.drop_table('masking_rules')
