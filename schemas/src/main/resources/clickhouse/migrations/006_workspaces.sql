-- Workspaces (CONTRACT.md section 1): every event belongs to a workspace of its account, `default` when the event names
-- none. This migration runs on databases that already hold data, while older writers may still be running.
--
-- usage_daily: workspace_id joins the sorting key, or two groups that differ only in their workspace would collapse
-- into one row on merge. ClickHouse (18.16 and 25.x alike) adds a column to the sorting key only in the ALTER that
-- creates it, only at the end of the key, and only without a default expression, so existing rows read ''. '' is
-- therefore the workspace `default` in usage_daily, for old and new rows alike (as user_id '' is "no user"): a group of
-- the default workspace keeps the sorting key it had before this migration, and the stream's next complete-totals row
-- for it replaces the old row instead of adding to it.
ALTER TABLE usage_daily ADD COLUMN workspace_id String AFTER account_id, MODIFY ORDER BY (account_id, date, api_key_hash, user_id, endpoint_id, model, model_permaslug, provider_name, shard, workspace_id);
-- usage_events: the event's workspace as sent; rows written before workspaces existed read `default`.
ALTER TABLE usage_events ADD COLUMN workspace_id String DEFAULT 'default' AFTER account_id;
-- Every workspace an account has ever reported, so the activity API can answer 404 for a workspace the caller's
-- account never used (as api_key_hashes does for keys). The writer inserts a row per workspace it sees in a batch.
CREATE TABLE IF NOT EXISTS workspaces (
  account_id String,
  workspace_id String
) ENGINE = ReplacingMergeTree
ORDER BY (account_id, workspace_id);
-- Accounts with usage before this migration reported the default workspace.
INSERT INTO workspaces SELECT DISTINCT account_id, 'default' FROM usage_daily;
