-- What 1C was sent of the warehouse's results (`type=sale&mode=query`) and what it confirmed
-- (`mode=success`). A query sends every applied operation of the node's warehouse it has not
-- confirmed, as one numbered batch; success confirms that batch only, so a result is sent
-- until 1C confirms it and never after, whatever dies between the two.
CREATE TABLE onec_results (
    node TEXT NOT NULL REFERENCES onec_nodes (name),
    operation BIGINT NOT NULL REFERENCES operations (id),
    batch BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    PRIMARY KEY (node, operation)
);
CREATE INDEX onec_results_batch ON onec_results (node, batch);
