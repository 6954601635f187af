-- Change markers for activity-query's cache of completed days: every INSERT into usage_daily, whoever sends it
-- (usage-stream's writer, a backfill, the benchmark fixture), adds the number of rows it wrote per (date, account_id)
-- here, so sum(inserts) of a (date, account_id) grows with every write that touches that day and never returns to an
-- earlier value. activity-query keeps a completed day in memory under the sum it saw and drops it when the sum moves.
-- Readers sum (SummingMergeTree only folds rows when parts merge): SELECT account_id, date, sum(inserts) ... GROUP BY.
-- Ordering, which the cache's correctness rests on: ClickHouse pushes each inserted block to the table first and to
-- its materialized views after that (PushingToViewsBlockOutputStream::write on 18.16 writes the block to the table,
-- whose MergeTree output commits its parts inside write(), then runs the views), so whenever a marker row is
-- visible, the usage_daily rows of the same block already are. Checked on 18.16.1 as well: 400 single-row INSERTs
-- while another client read the markers and then count() of the rows 600 times; the rows were never behind.
-- Only INSERTs fire the view: a mutation (ALTER ... UPDATE/DELETE), ATTACH or DROP PARTITION of usage_daily does not
-- and must insert a row here itself (or restart activity-query). A failed multi-block INSERT can leave rows without
-- their marker; writers retry failed inserts (usage-stream commits its offsets only after a successful insert), and
-- the retry adds the marker. Old partitions may be dropped once they are outside every reader's window.
CREATE TABLE IF NOT EXISTS usage_daily_changes (
  date Date,
  account_id String,
  inserts UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (date, account_id);
CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_changes_mv TO usage_daily_changes
AS SELECT date, account_id, count() AS inserts
FROM usage_daily
GROUP BY date, account_id;
