-- Transformations (docs/api.md D5): JavaScript code or no-code steps that a destination applies
-- to its records. `input` is the JSON of `{code}` or `{steps}`; `authentication_ids` the JSON
-- array of the `secrets` authentications whose values `helper.secrets` reads, in order.
CREATE TABLE transformations (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                 TEXT    NOT NULL UNIQUE,
    app_id             TEXT    NOT NULL,
    name               TEXT COLLATE "C" NOT NULL,
    type               TEXT COLLATE "C" NOT NULL,
    input              TEXT    NOT NULL,
    description        TEXT,
    authentication_ids TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    deleted_at         BIGINT
);
CREATE INDEX transformations_app ON transformations (app_id, created_at) WHERE deleted_at IS NULL;

-- The transformation a destination applies (at most one, docs/api.md D3).
ALTER TABLE destinations ADD COLUMN transformation_id TEXT REFERENCES transformations (id);
CREATE INDEX destinations_transformation ON destinations (transformation_id)
    WHERE deleted_at IS NULL;
