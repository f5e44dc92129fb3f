"""sharing: requests and their history, grants, daily use, call statistics, rate limits; providers'
own services registered with the exchange gateway (issue 5)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 22:13:35.654911
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govdata.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exchange_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_code', sa.String(length=40), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('auth_header', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('timeout_seconds', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_endpoints')),
    sa.UniqueConstraint('resource_code', name=op.f('uq_exchange_endpoints_resource_code'))
    )
    op.create_table('sharing_call_stats',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('resource_code', sa.String(length=40), nullable=False),
    sa.Column('consumer_org', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('provider_org', sa.String(length=40), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('ms_total', sa.Float(), nullable=False),
    sa.Column('le_10', sa.BigInteger(), nullable=False),
    sa.Column('le_50', sa.BigInteger(), nullable=False),
    sa.Column('le_100', sa.BigInteger(), nullable=False),
    sa.Column('le_500', sa.BigInteger(), nullable=False),
    sa.Column('le_1000', sa.BigInteger(), nullable=False),
    sa.Column('over_1000', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'resource_code', 'consumer_org', 'outcome', name=op.f('pk_sharing_call_stats'))
    )
    with op.batch_alter_table('sharing_call_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_call_stats_provider_org'), ['provider_org'], unique=False)

    op.create_table('sharing_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('actor_org', sa.String(length=40), nullable=True),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_events'))
    )
    with op.batch_alter_table('sharing_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_events_request_id'), ['request_id'], unique=False)

    op.create_table('sharing_grant_usage',
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('grant_id', 'day', name=op.f('pk_sharing_grant_usage'))
    )
    op.create_table('sharing_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('resource_code', sa.String(length=40), nullable=False),
    sa.Column('provider_org_id', sa.Integer(), nullable=False),
    sa.Column('consumer_org_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('unmasked_items', sa.JSON(), nullable=False),
    sa.Column('row_scope', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('matter', sa.String(length=200), nullable=False),
    sa.Column('daily_quota', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('starts_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_grants'))
    )
    with op.batch_alter_table('sharing_grants', schema=None) as batch_op:
        batch_op.create_index('ix_sharing_grants_consumer_resource', ['consumer_org_id', 'resource_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_grants_provider_org_id'), ['provider_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_grants_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_grants_resource_code'), ['resource_code'], unique=False)

    op.create_table('sharing_rate_limits',
    sa.Column('credential_id', sa.Integer(), nullable=False),
    sa.Column('per_minute', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('credential_id', name=op.f('pk_sharing_rate_limits'))
    )
    op.create_table('sharing_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_code', sa.String(length=40), nullable=False),
    sa.Column('provider_org_id', sa.Integer(), nullable=False),
    sa.Column('consumer_org_id', sa.Integer(), nullable=False),
    sa.Column('share_type', sa.String(length=16), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('unmasked_items', sa.JSON(), nullable=False),
    sa.Column('row_scope', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('matter', sa.String(length=200), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('daily_quota', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('deadline_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('renews_grant_id', sa.Integer(), nullable=True),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', govdata.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('provider_decided_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', govdata.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_requests'))
    )
    with op.batch_alter_table('sharing_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_requests_consumer_org_id'), ['consumer_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_requests_provider_org_id'), ['provider_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_requests_resource_code'), ['resource_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_requests_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sharing_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_requests_status'))
        batch_op.drop_index(batch_op.f('ix_sharing_requests_resource_code'))
        batch_op.drop_index(batch_op.f('ix_sharing_requests_provider_org_id'))
        batch_op.drop_index(batch_op.f('ix_sharing_requests_created_at'))
        batch_op.drop_index(batch_op.f('ix_sharing_requests_consumer_org_id'))

    op.drop_table('sharing_requests')
    op.drop_table('sharing_rate_limits')
    with op.batch_alter_table('sharing_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_grants_resource_code'))
        batch_op.drop_index(batch_op.f('ix_sharing_grants_request_id'))
        batch_op.drop_index(batch_op.f('ix_sharing_grants_provider_org_id'))
        batch_op.drop_index('ix_sharing_grants_consumer_resource')

    op.drop_table('sharing_grants')
    op.drop_table('sharing_grant_usage')
    with op.batch_alter_table('sharing_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_events_request_id'))

    op.drop_table('sharing_events')
    with op.batch_alter_table('sharing_call_stats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_call_stats_provider_org'))

    op.drop_table('sharing_call_stats')
    op.drop_table('exchange_endpoints')
