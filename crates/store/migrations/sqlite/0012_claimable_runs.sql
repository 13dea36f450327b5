-- Claims find their run without sorting the queue: the applications with queued runs, one index
-- descent each, and each application's queued runs in order (`src/claimable.rs`). Partial: only
-- queued runs are in it, so it stays as small as the queue.
CREATE INDEX runs_claimable ON runs (app_id, seq) WHERE status = 'created';
