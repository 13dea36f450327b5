-- Claims take turns across applications: each application's turn number is the claim counter's
-- value at its latest claim, and the next claim goes to the queued run of the application whose
-- turn is oldest (never = 0), then the oldest run. One application queuing a thousand runs no
-- longer holds every other application's runs behind them.
CREATE TABLE app_claims (
    app_id TEXT PRIMARY KEY,
    turn   BIGINT NOT NULL
);
