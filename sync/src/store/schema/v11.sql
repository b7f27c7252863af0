-- Schema version 11: customers' orders to pick (hub protocol 4, the `orders` feed; shipment
-- against an order, issue 16).
--
-- An order says what a shipment should hold: codes named one by one (`order_units`) and goods
-- by count (`order_lines`, GTIN × quantity in the order's line order, as `task_lines`).
-- `receiver_inn` is NULL when the books did not say whom the goods go to: the operator names
-- the receiver when the shipment starts. Units and lines go with their order (ON DELETE
-- CASCADE); a withdrawn order deletes its row.
-- Released: never edit this file.
CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    receiver_inn TEXT,
    date TEXT NOT NULL,
    product_group INTEGER,
    received_at INTEGER NOT NULL
) STRICT;

CREATE TABLE order_units (
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    ki BLOB NOT NULL,
    PRIMARY KEY (order_id, ki)
) STRICT, WITHOUT ROWID;

CREATE TABLE order_lines (
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    gtin INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, position)
) STRICT, WITHOUT ROWID;
