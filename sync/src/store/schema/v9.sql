-- Schema version 9: task lines by quantity (hub protocol 3, tasks from 1C's deliveries).
--
-- A delivery the books know only as GTIN × quantity has no codes to list: each line says how
-- many units of one GTIN the supplier sends, and any code of that GTIN fills it. `position`
-- keeps the task's order (the books' line order, shown on screen); `gtin` is the GTIN's
-- numeric value, as `ki` keys and `Gtin` hold it. Lines go with their task (ON DELETE CASCADE).
-- Released: never edit this file.
CREATE TABLE task_lines (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    gtin INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (task_id, position)
) STRICT, WITHOUT ROWID;
