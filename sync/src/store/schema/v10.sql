-- Schema version 10: what a box or pallet holds, by the status list (shipment, issue 16).
--
-- A box label shipped whole ships the units the list names inside it (`parent` = its SSCC),
-- and a pallet the units of its boxes. Finding them by `parent` scanned the whole list; the
-- index holds only the packed units, a fraction of it.
-- Released: never edit this file.
CREATE INDEX statuses_by_parent ON statuses (parent) WHERE parent IS NOT NULL;
CREATE INDEX label_statuses_by_parent ON label_statuses (parent) WHERE parent IS NOT NULL;
