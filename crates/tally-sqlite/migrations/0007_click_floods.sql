-- A click from an address that is flooding its program with clicks (SPEC §11):
-- recorded and flagged, and left out of report counts like a crawler's. Clicks from
-- before the flag existed were never counted as floods.
ALTER TABLE click ADD COLUMN is_flood INTEGER NOT NULL DEFAULT 0;
