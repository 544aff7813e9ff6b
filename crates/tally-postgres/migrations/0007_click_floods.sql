-- A click from an address that is flooding its program with clicks (SPEC §11):
-- recorded and flagged, and left out of report counts like a crawler's. Clicks from
-- before the flag existed were never counted as floods. (A constant default: no
-- table rewrite.)
ALTER TABLE click ADD COLUMN is_flood BOOLEAN NOT NULL DEFAULT FALSE;
