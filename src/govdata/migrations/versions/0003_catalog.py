"""catalog: classifications, resources, items, revisions, the published catalog, open-data demands

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govdata.db
from govdata.catalog.classifications import seed_rows

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    classifications = op.create_table(
        'catalog_classifications',
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('path', sa.String(length=300), nullable=False),
        sa.Column('parent_code', sa.String(length=16), nullable=True),
        sa.Column('next_sequence', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_catalog_classifications')),
        sa.UniqueConstraint('path', name=op.f('uq_catalog_classifications_path')),
    )
    op.create_table(
        'open_demands',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('requester', sa.String(length=100), nullable=False),
        sa.Column('contact', sa.String(length=100), nullable=False),
        sa.Column('target_org', sa.String(length=32), nullable=True),
        sa.Column('resource_code', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('reply', sa.Text(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('replied_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_open_demands')),
    )
    with op.batch_alter_table('open_demands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_demands_target_org'), ['target_org'], unique=False)
    op.create_table(
        'resources',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('classification_code', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('provider_org_id', sa.Integer(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('format', sa.String(length=24), nullable=False),
        sa.Column('share_type', sa.String(length=16), nullable=False),
        sa.Column('share_condition', sa.Text(), nullable=False),
        sa.Column('share_method', sa.String(length=16), nullable=False),
        sa.Column('share_basis', sa.Text(), nullable=False),
        sa.Column('open', sa.Boolean(), nullable=False),
        sa.Column('open_condition', sa.Text(), nullable=False),
        sa.Column('update_cycle', sa.String(length=16), nullable=False),
        sa.Column('publish_date', sa.Date(), nullable=True),
        sa.Column('related_codes', sa.JSON(), nullable=False),
        sa.Column('grade', sa.String(length=16), nullable=False),
        sa.Column('sensitivity', sa.String(length=2), nullable=False),
        sa.Column('responsible_person', sa.String(length=50), nullable=False),
        sa.Column('contact', sa.String(length=50), nullable=False),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('published_version', sa.Integer(), nullable=True),
        sa.Column('review_comment', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['classification_code'], ['catalog_classifications.code'],
                                name=op.f('fk_resources_classification_code_catalog_classifications')),
        sa.ForeignKeyConstraint(['provider_org_id'], ['organizations.id'],
                                name=op.f('fk_resources_provider_org_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resources')),
        sa.UniqueConstraint('code', name=op.f('uq_resources_code')),
        sa.UniqueConstraint('provider_org_id', 'name', name='uq_resources_provider_name'),
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_classification_code'), ['classification_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_provider_org_id'), ['provider_org_id'], unique=False)
    op.create_table(
        'catalog_entries',
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('provider_name', sa.String(length=200), nullable=False),
        sa.Column('classification_code', sa.String(length=16), nullable=False),
        sa.Column('classification_path', sa.String(length=300), nullable=False),
        sa.Column('format', sa.String(length=24), nullable=False),
        sa.Column('share_type', sa.String(length=16), nullable=False),
        sa.Column('share_method', sa.String(length=16), nullable=False),
        sa.Column('open', sa.Boolean(), nullable=False),
        sa.Column('update_cycle', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('published_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['resource_id'], ['resources.id'],
                                name=op.f('fk_catalog_entries_resource_id_resources'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('resource_id', name=op.f('pk_catalog_entries')),
        sa.UniqueConstraint('code', name=op.f('uq_catalog_entries_code')),
    )
    with op.batch_alter_table('catalog_entries', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_entries_classification', ['classification_code'], unique=False)
        batch_op.create_index('ix_catalog_entries_provider', ['provider'], unique=False)
        batch_op.create_index('ix_catalog_entries_share_type', ['share_type'], unique=False)
    op.create_table(
        'resource_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('data_type', sa.String(length=1), nullable=False),
        sa.Column('length', sa.Integer(), nullable=True),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('primary_key', sa.Boolean(), nullable=False),
        sa.Column('data_element', sa.String(length=16), nullable=True),
        sa.Column('sensitivity', sa.String(length=2), nullable=False),
        sa.Column('identifies', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['resource_id'], ['resources.id'],
                                name=op.f('fk_resource_items_resource_id_resources'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_items')),
        sa.UniqueConstraint('resource_id', 'key', name='uq_resource_items_resource_key'),
    )
    with op.batch_alter_table('resource_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_items_resource_id'), ['resource_id'], unique=False)
    op.create_table(
        'resource_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=16), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('at', govdata.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['resource_id'], ['resources.id'],
                                name=op.f('fk_resource_revisions_resource_id_resources'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_revisions')),
        sa.UniqueConstraint('resource_id', 'version', name='uq_resource_revisions_version'),
    )
    with op.batch_alter_table('resource_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_revisions_resource_id'), ['resource_id'], unique=False)
    op.bulk_insert(classifications, seed_rows())


def downgrade() -> None:
    for table in ('resource_revisions', 'resource_items', 'catalog_entries', 'resources', 'open_demands',
                  'catalog_classifications'):
        op.drop_table(table)
